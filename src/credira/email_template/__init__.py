"""Email templates: the subject, HTML and text an email is rendered from."""
