"""What happened during each launch, for the staff launch debugger (issue 16).

- `records`: the `LaunchStep` rows, one per moment of a launch (a state change, discovery,
  the token exchange, a summary section, a FHIR call), deleted with their launch;
- `recorder`: how services note a step (`record`, `timed`) and which launch the FHIR calls of
  this context belong to (`about`);
- `writer`: the rows written in batches by a thread of each process, off the page's path;
- `report`: a launch's steps read back into what the debugger shows.

Nothing recorded is a secret: no token, code, state, verifier, nonce or `launch` value; FHIR
calls name their resource type, interaction and the names (not values) of their parameters.
"""
