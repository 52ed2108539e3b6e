"""The pipeline: one workspace's stores and rooms wired together for the faces.

The CLI, the server and the demo call these functions rather than wiring stores, the
ConsentBook and the build themselves, so every face runs the same steps.
"""
