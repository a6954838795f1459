import { UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';

/**
 * For every admin controller: the login JWT, then administrators only (users.is_admin), documented in Swagger under the admin tag with their 401 and 403.
 */
export const AdminOnly = () =>
  applyDecorators(
    ApiTags('admin'),
    ApiBearerAuth(),
    UseGuards(JwtAuthGuard, AdminGuard),
    ApiResponse({ status: 401, type: ErrorResponseDto, description: 'Missing, invalid or expired JWT, or a disabled account' }),
    ApiResponse({ status: 403, type: ErrorResponseDto, description: 'Not an administrator' }),
  );
