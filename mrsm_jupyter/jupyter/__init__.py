"""The Jupyter side: magics, HTML reprs and widgets. The engine never imports this package."""
