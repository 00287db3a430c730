"""Local stand-ins for services that cannot run here (test fixtures shared by several test areas)."""
