"""Touchpoint's links to the company's identity provider: sign-in with
OpenID Connect (`oidc`) and provisioning with SCIM 2.0 (`scim`)."""
