"""The token vault, split by concern as Duende's AccessTokenManagement splits it.

- `store`: the grant row: tokens encrypted at rest (AES-GCM, bound to row and field),
  decrypted only for the call at hand;
- `policy`: when a token counts as stale and how refresh failures are retried (pure);
- `lock`: one refresh in flight per launch across threads, processes and hosts;
- `smartapp.token_endpoint`: the requests to the EHR's token and revocation endpoints;
- `tokens`: the management service that puts them together (`access_token`, single-flight
  `refresh`, `end_grant`, `revoke_and_forget`).
"""
