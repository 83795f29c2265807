"""A local stand-in for Discord (REST and gateway on 127.0.0.1): used by the demo and the tests."""
