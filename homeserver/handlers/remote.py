"""Questions our users' requests ask other servers: a remote alias, profile or directory.

These need only the federation client, not the rooms, so the directory, accounts and hallway
handlers can be built with them before the room federation exists.
"""
from __future__ import annotations

from federation.client import FederationClient, RemoteServerError
from federation.pdus import server_of

from ..errors import MatrixError


def remote_error(e: RemoteServerError, prefix: str) -> MatrixError:
    """A remote server's refusal as our client sees it: its 403/404 errcode passed on, anything
    else (unreachable, 5xx, garbage) as a 502."""
    if e.status in (403, 404) and e.body.get("errcode"):
        return MatrixError(f"{prefix}: {e.body.get('error')}", e.body["errcode"], e.status)
    return MatrixError(f"{prefix}: {e}", "M_UNKNOWN", 502)


class RemoteQueries:
    def __init__(self, client: FederationClient):
        self.client = client

    async def resolve_remote_alias(self, alias: str) -> str:
        server = server_of(alias)
        try:
            answer = await self.client.request(server, "GET", "/_matrix/federation/v1/query/"
                                               "directory", query={"room_alias": alias})
        except RemoteServerError as e:
            raise remote_error(e, f"Could not resolve {alias}") from e
        room_id = answer.get("room_id")
        if not isinstance(room_id, str) or not room_id.startswith("!"):
            raise MatrixError(f"{server} answered without a room ID", "M_UNKNOWN", 502)
        return room_id

    async def query_remote_profile(self, user_id: str) -> dict:
        try:
            answer = await self.client.request(server_of(user_id), "GET",
                                               "/_matrix/federation/v1/query/profile",
                                               query={"user_id": user_id})
        except RemoteServerError as e:
            raise remote_error(e, f"Could not get the profile of {user_id}") from e
        return {k: v for k, v in answer.items()
                if k in ("displayname", "avatar_url") and isinstance(v, str)}

    async def remote_public_rooms(self, server: str, limit, since, search) -> dict:
        query = {}
        if limit is not None:
            query["limit"] = str(limit)
        if since:
            query["since"] = since
        try:
            if search:
                body = {"filter": {"generic_search_term": search}, **(
                    {"limit": limit} if limit is not None else {}),
                    **({"since": since} if since else {})}
                return await self.client.request(server, "POST",
                                                 "/_matrix/federation/v1/publicRooms", body)
            return await self.client.request(server, "GET",
                                             "/_matrix/federation/v1/publicRooms", query=query)
        except RemoteServerError as e:
            raise remote_error(e, f"Could not read the directory of {server}") from e
