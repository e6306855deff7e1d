"""Request bodies are capped before anyone reads them: Starlette reads (and spools to disk) a
whole multipart body before a handler can look at its size, so this ASGI middleware answers 413
from the Content-Length header alone, and stops a body without one (chunked) once it passes the
limit, before the application sees more of it."""
from __future__ import annotations

import json


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send)
        seen, over, refused = 0, False, False

        async def counted_receive():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message):
            # the application may turn the interrupted read into its own error: answer 413 instead
            nonlocal refused
            if not over:
                await send(message)
            elif not refused and message["type"] == "http.response.start":
                refused = True
                await self._refuse(send)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        if over and not refused:
            await self._refuse(send)

    async def _refuse(self, send):
        body = json.dumps({"error": f"the request is over the {self.limit // (1024 * 1024)} MB limit; send "
                                    "fewer or smaller photos"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
