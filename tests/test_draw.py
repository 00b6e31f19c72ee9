"""One drawing module: joints coloured by the person's own side, for BlazePose-33 and COCO-17 alike."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgepose.draw import BONE_RGB, LEFT_JOINT_RGB, RIGHT_JOINT_RGB, Style, draw_pose, draw_result
from edgepose.pose.landmarker import PoseLandmarker, PoseLandmarkerOptions
from edgepose.skeleton import CocoKeypoint, PoseLandmark, SkeletonKind, left_side
from edgepose.types import ImageArray, Pose, PoseResult


@pytest.fixture(scope="module")
def messi_pose(media: Path) -> tuple[ImageArray, Pose]:
    image: ImageArray = cv2.cvtColor(cv2.imread(str(media / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    with PoseLandmarker(PoseLandmarkerOptions()) as landmarker:
        (pose,) = landmarker.detect(image).poses
    return image, pose


def test_left_side_indices_are_the_left_landmarks() -> None:
    assert left_side(SkeletonKind.COCO_17) == {1, 3, 5, 7, 9, 11, 13, 15}
    blaze = left_side(SkeletonKind.BLAZEPOSE_33)
    assert PoseLandmark.LEFT_SHOULDER in blaze and PoseLandmark.RIGHT_SHOULDER not in blaze
    assert PoseLandmark.MOUTH_LEFT in blaze and PoseLandmark.NOSE not in blaze
    assert len(blaze) == 16


@pytest.mark.parametrize("skeleton", list(SkeletonKind))
def test_joints_are_coloured_by_the_persons_side(
    skeleton: SkeletonKind, messi_pose: tuple[ImageArray, Pose]
) -> None:
    image, pose = messi_pose
    if skeleton is SkeletonKind.COCO_17:
        pose = dataclasses.replace(pose, landmarks=pose.coco17(), world_landmarks=None, skeleton=skeleton)
        shoulders = (CocoKeypoint.LEFT_SHOULDER, CocoKeypoint.RIGHT_SHOULDER)
        hips = (CocoKeypoint.LEFT_HIP, CocoKeypoint.RIGHT_HIP)
    else:
        shoulders = (PoseLandmark.LEFT_SHOULDER, PoseLandmark.RIGHT_SHOULDER)
        hips = (PoseLandmark.LEFT_HIP, PoseLandmark.RIGHT_HIP)
    # He faces the camera: his own left shoulder is on the picture's right.
    assert pose.landmarks[shoulders[0], 0] > pose.landmarks[shoulders[1], 0]
    canvas = np.zeros_like(image)
    assert draw_pose(canvas, pose, Style.for_width(canvas.shape[1])) is not None
    h, w = canvas.shape[:2]
    for (left, right), name in ((shoulders, "shoulders"), (hips, "hips")):
        for index, expected in ((left, LEFT_JOINT_RGB), (right, RIGHT_JOINT_RGB)):
            x, y = (round(float(v)) for v in pose.landmarks[index, :2] * (w, h))
            assert tuple(int(c) for c in canvas[y, x]) == expected, (name, index)
    assert np.all(canvas == BONE_RGB, axis=2).sum() > 200  # bones drawn too


def test_annotate_draws_on_a_copy(messi_pose: tuple[ImageArray, Pose]) -> None:
    image, pose = messi_pose
    before = image.copy()
    h, w = image.shape[:2]
    drawn = draw_result(image, PoseResult(timestamp_ms=0, frame_index=0, width=w, height=h, poses=(pose,)))
    assert np.array_equal(image, before)
    assert np.any(drawn != image)
