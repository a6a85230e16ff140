"""HTTP edge: middleware, error rendering, dependencies shared by every router."""
