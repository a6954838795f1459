import { Body, Controller, Get, HttpCode, HttpStatus, Ip, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { AuthService } from './auth.service.js';
import { ClientAddressThrottlerGuard } from './client-address-throttler.guard.js';
import { CurrentUser } from './current-user.decorator.js';
import { LoginDto } from './dto/login.dto.js';
import { RegisterDto } from './dto/register.dto.js';
import { TokenDto } from './dto/token.dto.js';
import { RegisterResponseDto, UserProfileDto } from './dto/user-profile.dto.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import type { User } from './user.js';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @UseGuards(ClientAddressThrottlerGuard)
  @ApiOperation({ summary: 'Create an account (never an administrator: operators grant that, see README, Administration)' })
  @ApiResponse({ status: 201, type: RegisterResponseDto })
  @ApiResponse({ status: 409, type: ErrorResponseDto, description: 'Email already registered (by any account, a disabled one included)' })
  @ApiResponse({ status: 429, type: ErrorResponseDto, description: 'Too many attempts from this client' })
  async register(@Body() dto: RegisterDto): Promise<RegisterResponseDto> {
    const user = await this.auth.register(dto);
    return { success: true, message: 'User registered', user: UserProfileDto.from(user) };
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @UseGuards(ClientAddressThrottlerGuard)
  @ApiOperation({ summary: 'Exchange email and password for a JWT' })
  @ApiResponse({ status: 200, type: TokenDto })
  @ApiResponse({ status: 401, type: ErrorResponseDto, description: 'Incorrect email or password' })
  @ApiResponse({ status: 429, type: ErrorResponseDto, description: 'Too many attempts from this client, or too many failed logins for this account' })
  login(@Body() dto: LoginDto, @Ip() address: string): Promise<TokenDto> {
    return this.auth.login(dto, address);
  }

  @Get('me')
  @UseGuards(JwtAuthGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The logged-in user' })
  @ApiResponse({ status: 200, type: UserProfileDto })
  @ApiResponse({ status: 401, type: ErrorResponseDto })
  me(@CurrentUser() user: User): UserProfileDto {
    return UserProfileDto.from(user);
  }
}
