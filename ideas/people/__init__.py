"""People: who works here, what they may do, and how they sign in.

- `directory`: looking people up; departments; the admin overview
- `roles`: the role ↔ column mapping and the one admin rule
- `service`: the use cases that add and change people (admin pages, CSV
  import, command line and SCIM alike)
- `provisioning`: the same, for identity providers (SCIM, single sign-on):
  a person made or brought to what the provider says; the last active
  admin keeps the admin role
- `imports`: reading, previewing and applying a people CSV
- `invitations`: one-time links to set a password
- `accounts`: signing in (password, session, API token) and one's own
  tokens, sessions and password
"""
