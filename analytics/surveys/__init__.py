"""Callback surveys: forms, responses tied to the calls they judge, IVR and CSV intake,
callback lists and the satisfaction index."""
