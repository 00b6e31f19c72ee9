"""Evaluation code shared by tests and scripts: media helpers, the int8-against-float fidelity metric,
the MediaPipe reference runner and the accuracy table against it, and the kinematic motion generator
(activity_sim) with its activity evaluation, and the watched-room clips of the cost benchmark
(room_clips).

Never imported by edgepose/; scripts and tests import it, and scripts import nothing from tests.
"""
