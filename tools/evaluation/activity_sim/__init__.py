"""A small kinematic stick figure that produces BlazePose-like landmark streams for activity tests.

`body` holds the figure (joint directions -> 33 landmarks, 3D) and the camera (projection,
noise, dropped landmarks); `scenarios` holds the motions (squats, falls, waves, ...) with their
ground truth.
"""
