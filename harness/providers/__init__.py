"""Where nodes come from: an existing inventory over SSH, or the local lab. Each provider
offers the same small interface (harness.providers.base.Provider)."""
