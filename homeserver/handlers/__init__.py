"""Handlers hold the rules of each endpoint family; they import no aiohttp."""
