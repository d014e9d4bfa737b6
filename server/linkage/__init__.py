"""Finding the same person recorded more than once (issue 14): people read from the service,
scored in pairs by probabilistic record linkage (Splink), and the review queue of pairs."""
