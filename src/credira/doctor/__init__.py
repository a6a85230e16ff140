"""``credira doctor``: checks what the service depends on and says in plain words what is
wrong (``checks``)."""
