"""Launch services, one module per moment of a launch's life.

- `browser`: which browser a launch belongs to (a cookie of its own, rotated at activation);
- `throttle`: a budget of launch starts per client address;
- `start`: record a launch and build the authorization request (EHR and standalone);
- `callback`: the redirect back from the EHR, checked step by step, and the code exchange;
- `pages`: finding an active launch for a page, choosing a patient, signing out;
- `housekeeping`: expiring what was abandoned, deleting what ended long ago.
"""
