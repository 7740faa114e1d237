"""`python -m colonies.cli` runs the `colonies` command."""
from .main import app

app(prog_name="colonies")
