import { Injectable, type NestMiddleware, NotFoundException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { belongsTo, listenerOf } from './listener.js';

/** Both listeners share one Nest app; this keeps each listener's routes invisible on the other. */
@Injectable()
export class ListenerScopeMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    if (belongsTo(req.path) !== listenerOf(req)) throw new NotFoundException(`Cannot ${req.method} ${req.path}`);
    next();
  }
}
