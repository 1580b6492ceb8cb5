"""gymx's environment families, one package per family and one module per environment."""
