import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CapacityTicket } from './capacity-gate';
import type { FaultKind } from './fault-mode';
import type { FaultSwitch } from './fault-switch';
import { outcome, sendOutcome } from './fhir-http';

/**
 * Puts the switch's decision into effect for one FHIR request. Sits in the router's middleware seam, after
 * body parsing and before the handler, so failures before the handler store nothing; a lost answer after
 * commit lets the handler run and intercepts what it sends.
 */
export function createFaultMiddleware(faults: FaultSwitch): RequestHandler {
  return (req, res, next) => {
    const decision = faults.decide(req.method, req.path);
    switch (decision.action) {
      case 'pass':
        next();
        return;
      case 'delay':
        // Like a slow EHR, the request is handled even if the client gave up meanwhile: a write may still be
        // committed after the client timed out.
        setTimeout(next, decision.ms);
        return;
      case 'fail':
        fail(req, res, decision.kind, decision.retryAfterSeconds);
        return;
      case 'fail-after-commit':
        loseAnswer(req, res, decision.mode, decision.settle);
        next();
        return;
      case 'hold':
        hold(res, next, decision.ticket);
        return;
    }
  };
}

/**
 * Runs the handler once the request holds a slot and its latency has passed (or the mode has ended), and
 * frees the slot when the answer is out. A client that gives up does not shorten the latency: its request is
 * handled all the same, as by a real EHR, and its slot is freed when that time has passed.
 */
function hold(res: Response, next: NextFunction, ticket: CapacityTicket): void {
  let holding = true;
  let closed = false;
  // 'close' comes after every answer, and also when the client leaves first: then nothing was finished.
  res.once('close', () => {
    closed = true;
    if (!holding) {
      ticket.done(res.writableFinished);
    }
  });
  const serve = (): void => {
    if (!holding) {
      return;
    }
    holding = false;
    if (closed) {
      ticket.done(false);
    }
    next();
  };
  ticket.whenServed((holdMs) => {
    const timer = setTimeout(serve, holdMs);
    ticket.onRelease(() => {
      clearTimeout(timer);
      // Not within the admin request that changed the mode.
      setImmediate(serve);
    });
  });
}

function fail(req: Request, res: Response, kind: FaultKind, retryAfterSeconds: number | undefined): void {
  if (kind === 'refuse') {
    dropConnection(req);
    return;
  }
  if (retryAfterSeconds !== undefined) {
    res.setHeader('Retry-After', String(retryAfterSeconds));
  }
  if (kind === 'http401') {
    res.setHeader(
      'WWW-Authenticate',
      'Bearer error="invalid_token", error_description="the access token is not valid"',
    );
    sendOutcome(res, outcome('login', 'The credentials are not valid (sandbox fault injection)'), 401);
    return;
  }
  if (kind === 'http403') {
    sendOutcome(res, outcome('forbidden', 'The client may not use this EHR (sandbox fault injection)'), 403);
    return;
  }
  if (kind === 'http429') {
    sendOutcome(res, outcome('throttled', 'Too many requests (sandbox fault injection)'), 429);
    return;
  }
  sendOutcome(res, outcome('transient', 'The EHR is unavailable (sandbox fault injection)'), 503);
}

/**
 * The closest a listening server gets to a dead EHR: the connection ends with a TCP reset before any byte of
 * an answer, so the client sees ECONNRESET. (A true ECONNREFUSED needs the port closed, which would take the
 * admin API and, in the gateway, the whole API down with it.)
 */
function dropConnection(req: Request): void {
  req.socket.resetAndDestroy();
}

/**
 * Lets the handler commit, then replaces its answer: whichever of writeHead/write/end it calls first is the
 * moment the answer is lost. Only the headers the handler added are dropped, so the host app's own (request
 * id) stay on a 500.
 */
function loseAnswer(
  req: Request,
  res: Response,
  mode: 'reset' | 'http500',
  settle: (committed: boolean) => void,
): void {
  const writeHead = res.writeHead.bind(res);
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  const hostHeaders = new Set(res.getHeaderNames());
  let lost = false;
  const lose = (status: number): void => {
    if (lost) {
      return;
    }
    lost = true;
    settle(status >= 200 && status < 300);
    res.writeHead = writeHead;
    res.write = write;
    res.end = end;
    if (mode === 'reset') {
      dropConnection(req);
      return;
    }
    for (const name of res.getHeaderNames()) {
      if (!hostHeaders.has(name)) {
        res.removeHeader(name);
      }
    }
    sendOutcome(res, outcome('exception', 'Internal error (sandbox fault injection)'), 500);
  };
  res.writeHead = ((status: unknown) => {
    lose(typeof status === 'number' ? status : res.statusCode);
    return res;
  }) as typeof res.writeHead;
  res.write = (() => {
    lose(res.statusCode);
    return true;
  }) as typeof res.write;
  res.end = (() => {
    lose(res.statusCode);
    return res;
  }) as typeof res.end;
}
