"""Development tooling, outside the shipped package: the demo launcher (`make run`) and the
screenshot script (`make screenshots`)."""
