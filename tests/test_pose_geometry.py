"""Small pure-function tests of the pipeline geometry: anchors, decoding, NMS, ROI, projection, filters."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edgepose.pose.anchors import SsdAnchorOptions, generate_anchors
from edgepose.pose.detector import (
    Letterbox,
    decode_boxes,
    letterbox_matrix,
    remove_letterbox,
    sigmoid_scores,
    weighted_nms,
)
from edgepose.pose.landmarks import (
    crop_roi,
    decode_landmarks,
    project_landmarks,
    project_world,
    refine_from_heatmap,
)
from edgepose.pose.model_io import dequantize, quantize_image
from edgepose.pose.roi import (
    crop_matrix,
    normalize_radians,
    object_scale_px,
    rect_from_alignment_points,
    roi_from_keypoints,
    transform_rect,
)
from edgepose.pose.smoothing import LowPassFilter, OneEuroFilter, OneEuroParams, smooth_segmentation
from edgepose.pose.tracker import Track, duplicate_tracks, select_newcomers
from edgepose.types import BBox, Rect


def test_anchor_count_and_layout_match_the_pose_detector() -> None:
    anchors = generate_anchors()
    assert anchors.shape == (2254, 4)
    # Stride 8: 28x28 cells, 2 anchors each, first cell centre at half a cell.
    assert np.allclose(anchors[0], [0.5 / 28, 0.5 / 28, 1.0, 1.0])
    assert np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[2, :2], [1.5 / 28, 0.5 / 28])
    # Stride 16 starts after 28*28*2 anchors; the three stride-32 layers share 7x7 cells, 6 each.
    assert np.allclose(anchors[1568, :2], [0.5 / 14, 0.5 / 14])
    assert np.allclose(anchors[1568 + 392 : 1568 + 392 + 6, :2], [0.5 / 7, 0.5 / 7])
    assert np.allclose(anchors[-1, :2], [6.5 / 7, 6.5 / 7])


def test_anchor_sizes_when_not_fixed() -> None:
    options = SsdAnchorOptions(strides=(8,), fixed_anchor_size=False, input_size_px=16)
    anchors = generate_anchors(options)
    assert anchors.shape == (2 * 2 * 2, 4)
    # One layer: scale is the mean of min and max; the interpolated anchor uses scale 1.0 next.
    scale = (0.1484375 + 0.75) / 2
    assert np.allclose(anchors[0, 2:], [scale, scale])
    assert np.allclose(anchors[1, 2:], [math.sqrt(scale), math.sqrt(scale)])


def test_decode_boxes_and_keypoints_relative_to_anchor() -> None:
    anchors = np.array([[0.5, 0.25, 1.0, 1.0]], dtype=np.float32)
    raw = np.zeros((1, 12), dtype=np.float32)
    raw[0, :4] = [22.4, -22.4, 44.8, 22.4]  # centre offset (+0.1, -0.1), size (0.2, 0.1)
    raw[0, 4:6] = [-11.2, 11.2]
    boxes, keypoints = decode_boxes(raw, anchors, 224)
    assert np.allclose(boxes[0], [0.5, 0.1, 0.7, 0.2], atol=1e-6)
    assert np.allclose(keypoints[0, 0], [0.45, 0.3], atol=1e-6)
    assert keypoints.shape == (1, 4, 2)


def test_scores_are_clipped_sigmoids() -> None:
    scores = sigmoid_scores(np.array([-1000.0, 0.0, 1000.0], dtype=np.float32))
    assert scores[1] == pytest.approx(0.5)
    assert scores[0] == pytest.approx(1.0 / (1.0 + math.exp(100.0)))
    assert scores[2] == pytest.approx(1.0)


def test_weighted_nms_averages_a_cluster_and_keeps_separate_boxes() -> None:
    boxes = np.array(
        [[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]],
        dtype=np.float32,
    )
    keypoints = np.array([[[0.0, 0.0]], [[1.0, 1.0]], [[5.0, 5.0]]], dtype=np.float32)
    scores = np.array([0.9, 0.6, 0.7], dtype=np.float32)
    out = weighted_nms(scores, boxes, keypoints, iou_threshold=0.3)
    assert [round(s, 3) for s, _, _ in out] == [0.9, 0.7]
    _score, box, kps = out[0]
    assert np.allclose(box, [0.06 / 1.5, 0.0, 1.56 / 1.5, 1.0], atol=1e-6)
    assert np.allclose(kps[0], [0.4, 0.4], atol=1e-6)
    assert np.allclose(out[1][1], boxes[2])


def test_letterbox_round_trip_on_a_wide_frame() -> None:
    matrix, pad = letterbox_matrix(640, 480, 224)
    assert pad == Letterbox(0.0, 0.125, 0.0, 0.125)
    # A frame point goes into the square and back to where it was.
    point = np.array([320.0, 120.0, 1.0])
    in_square = (matrix @ point) / 224.0
    back = remove_letterbox(in_square.reshape(1, 2).astype(np.float32), pad)
    assert np.allclose(back[0], [0.5, 0.25], atol=1e-6)


def test_normalize_radians_wraps_into_half_open_range() -> None:
    assert normalize_radians(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert normalize_radians(-math.pi) == pytest.approx(-math.pi)
    assert normalize_radians(0.25) == pytest.approx(0.25)


def test_alignment_rect_upright_and_rotated_in_pixels() -> None:
    # Body axis pointing straight up: no rotation; side = 2 x the distance in pixels.
    rect = rect_from_alignment_points((0.5, 0.5), (0.5, 0.25), 640, 480)
    assert rect.rotation_rad == pytest.approx(0.0)
    assert rect.width * 640 == pytest.approx(240.0)
    assert rect.height * 480 == pytest.approx(240.0)
    # Axis pointing right in pixels (not in normalised units) on a wide frame: -90 degrees.
    rect = rect_from_alignment_points((0.25, 0.5), (0.25 + 100 / 640, 0.5), 640, 480)
    assert rect.rotation_rad == pytest.approx(math.pi / 2)
    # Axis at 45 degrees in pixels on a non-square frame.
    rect = rect_from_alignment_points((0.5, 0.5), (0.5 + 60 / 640, 0.5 - 60 / 480), 640, 480)
    assert rect.rotation_rad == pytest.approx(math.pi / 4)


def test_transform_rect_squares_on_the_long_side_and_scales() -> None:
    rect = Rect(0.5, 0.5, 0.5, 0.5, 0.3)  # 320 x 240 px on a 640x480 frame
    out = transform_rect(rect, 640, 480, scale=1.25)
    assert out.width * 640 == pytest.approx(400.0)
    assert out.height * 480 == pytest.approx(400.0)
    assert out.rotation_rad == 0.3


def test_roi_from_keypoints_and_object_scale() -> None:
    kps = np.array([[0.5, 0.5], [0.5, 0.3]], dtype=np.float32)
    roi = roi_from_keypoints(kps, 500, 500)
    assert roi.width == pytest.approx(0.4 * 1.25)
    assert object_scale_px(kps, 500, 500) == pytest.approx(200.0)


def test_crop_maps_roi_corners_to_crop_corners_and_projection_inverts_it() -> None:
    rect = Rect(0.4, 0.6, 0.3, 0.4, 0.7)  # 192 px square on a 640x480 frame, rotated
    matrix = crop_matrix(rect, 640, 480, 256)
    corners = rect.corners_px(640, 480)  # tl, tr, br, bl
    mapped = np.c_[corners, np.ones(4)] @ matrix.T
    assert np.allclose(mapped, [[0, 0], [256, 0], [256, 256], [0, 256]], atol=1e-3)
    # Crop-normalised points projected back land where the crop took them from.
    crop_points = np.array([[0.1, 0.2, 0.05, 1, 1], [0.9, 0.5, -0.1, 1, 1]], dtype=np.float32)
    frame = project_landmarks(crop_points, rect)
    px = frame[:, :2] * [640, 480]
    again = (np.c_[px, np.ones(2)] @ matrix.T) / 256
    assert np.allclose(again, crop_points[:, :2], atol=1e-5)
    assert frame[0, 2] == pytest.approx(0.05 * 0.3)


def test_crop_roi_samples_the_right_pixels() -> None:
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    image[:, 100:] = 255  # right half white
    # Upright square ROI over the right half: the crop is all white.
    crop = crop_roi(image, Rect(0.75, 0.5, 0.25, 0.5, 0.0), 32)
    assert crop.min() == 255
    # Rotated by 180 degrees around the frame centre: left of the crop shows the right side.
    crop = crop_roi(image, Rect(0.5, 0.5, 0.5, 1.0, math.pi), 32)
    assert crop[:, :12].mean() > 250 and crop[:, 20:].mean() < 5


def test_world_landmarks_rotate_with_the_roi() -> None:
    world = np.array([[1.0, 0.0, 0.5]], dtype=np.float32)
    out = project_world(world, Rect(0.5, 0.5, 0.2, 0.2, math.pi / 2))
    assert np.allclose(out, [[0.0, 1.0, 0.5]], atol=1e-6)


def test_decode_landmarks_scales_and_activates() -> None:
    raw = np.array([128.0, 64.0, 25.6, 0.0, 100.0], dtype=np.float32)
    out = decode_landmarks(raw, 256)
    assert np.allclose(out[0], [0.5, 0.25, 0.1, 0.5, 1.0], atol=1e-6)


def test_heatmap_refinement_moves_to_weighted_centre_only_when_confident() -> None:
    heatmap = np.full((64, 64, 2), -10.0, dtype=np.float32)
    heatmap[20, 30, 0] = 10.0  # confident peak for landmark 0 at column 30, row 20
    heatmap[40, 40, 1] = -0.5  # weak (sigmoid 0.38 < 0.5) for landmark 1
    landmarks = np.array([[31.5 / 64, 21.2 / 64, 0, 1, 1], [40.2 / 64, 40.2 / 64, 0, 1, 1]], dtype=np.float32)
    out = refine_from_heatmap(landmarks, heatmap)
    # The centroid includes the tiny sigmoid(-10) background of the 7x7 window.
    bg = 1 / (1 + math.exp(10))
    peak = 1 / (1 + math.exp(-10))
    cols = np.arange(28, 35)
    rows = np.arange(18, 25)
    expected_col = (bg * (cols.sum() * 7 - 30) + peak * 30) / (48 * bg + peak)
    expected_row = (bg * (rows.sum() * 7 - 20) + peak * 20) / (48 * bg + peak)
    assert out[0, 0] == pytest.approx(expected_col / 64, abs=1e-6)
    assert out[0, 1] == pytest.approx(expected_row / 64, abs=1e-6)
    assert np.array_equal(out[1], landmarks[1])


def test_one_euro_filter_follows_mediapipe_formula() -> None:
    params = OneEuroParams(min_cutoff=1.0, beta=0.5, derivate_cutoff=1.0)
    filt = OneEuroFilter(params)
    first = filt.apply(np.array([10.0], dtype=np.float32), 1000)
    assert first[0] == 10.0
    out = filt.apply(np.array([20.0], dtype=np.float32), 1100)  # 10 Hz
    freq = 10.0

    def alpha(cutoff: float) -> float:
        return 1.0 / (1.0 + (1.0 / (2 * math.pi * cutoff)) / (1.0 / freq))

    dx = (20.0 - 10.0) * freq
    edx = alpha(1.0) * dx
    a = alpha(1.0 + 0.5 * abs(edx))
    assert out[0] == pytest.approx(a * 20.0 + (1 - a) * 10.0, rel=1e-5)
    # A repeated timestamp passes the value through; reset forgets history.
    assert filt.apply(np.array([99.0], dtype=np.float32), 1100)[0] == 99.0
    filt.reset()
    assert filt.apply(np.array([5.0], dtype=np.float32), 1200)[0] == 5.0


def test_one_euro_value_scale_makes_small_objects_smooth_less() -> None:
    def second_output(scale: float) -> float:
        filt = OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=80.0))
        filt.apply(np.array([0.0], dtype=np.float32), 0, scale)
        return float(filt.apply(np.array([10.0], dtype=np.float32), 33, scale)[0])

    # Same pixel motion: relative to a small object it is fast, so less smoothing.
    assert second_output(1 / 50) > second_output(1 / 500)


def test_low_pass_filter() -> None:
    lp = LowPassFilter(0.1)
    assert lp.apply(np.array([1.0], dtype=np.float32))[0] == pytest.approx(1.0)
    assert lp.apply(np.array([0.0], dtype=np.float32))[0] == pytest.approx(0.9)


def test_newcomers_skip_tracked_people_and_respect_slots() -> None:
    tracked = [BBox(0.0, 0.0, 0.4, 0.4)]
    candidates = [BBox(0.05, 0.05, 0.42, 0.42), BBox(0.5, 0.5, 0.9, 0.9), BBox(0.52, 0.5, 0.9, 0.92)]
    assert select_newcomers(candidates, tracked, slots=2) == [1]
    assert select_newcomers(candidates, [], slots=1) == [0]


def test_only_a_confirmed_track_is_held_and_only_for_its_grace_frames() -> None:
    roi = Rect(0.5, 0.5, 0.2, 0.2)
    assert not Track(0, roi).hold(3)  # not yet confirmed by the landmark model
    track = Track(4, roi)
    assert [track.hold(2) for _ in range(3)] == [True, True, False]
    assert track.missed_frames == 2
    assert not Track(5, roi).hold(0)


def test_duplicate_tracks_drop_the_younger() -> None:
    boxes = [BBox(0, 0, 1, 1), BBox(0.05, 0, 1, 1), BBox(2, 2, 3, 3)]
    assert duplicate_tracks(boxes, [7, 3, 9]) == {0}
    # Equal priority (two new tracks): the first (best detection) stays.
    assert duplicate_tracks(boxes, [0, 0, 0]) == {1}


def test_crop_matches_opencv_perspective_warp_of_rotated_rect() -> None:
    """The crop equals MediaPipe's OpenCV path: warpPerspective of cv::boxPoints to the crop corners."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    rect = Rect(0.45, 0.55, 0.5, 0.5 * 160 / 120, -0.4)
    ours = crop_roi(image, rect, 64)
    box = (
        (rect.x_center * 160, rect.y_center * 120),
        (rect.width * 160, rect.height * 120),
        math.degrees(-0.4),
    )
    src = cv2.boxPoints(box).astype(np.float32)
    dst = np.array([[0, 64], [0, 0], [64, 0], [64, 64]], dtype=np.float32)
    theirs = cv2.warpPerspective(
        image,
        cv2.getPerspectiveTransform(src, dst),
        (64, 64),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1


def test_quantized_model_io_round_trips_pixels() -> None:
    pixels = np.array([[[0, 128, 255]]], dtype=np.uint8)
    # int8 input in [-1, 1] with the usual scale 1/128, zero point 0.
    q = quantize_image(pixels, (-1.0, 1.0), (1.0 / 128, 0), np.dtype(np.int8))
    assert q.dtype == np.int8 and q.tolist() == [[[-128, 1, 127]]]  # 128 -> +0.0039 -> 0.502 steps
    # uint8 input in [0, 1] with scale 1/255: the pixels themselves.
    q = quantize_image(pixels, (0.0, 1.0), (1.0 / 255, 0), np.dtype(np.uint8))
    assert q.tolist() == [[[0, 128, 255]]]
    assert np.allclose(dequantize(np.array([-128, 0, 127], dtype=np.int8), 0.5, -128), [0.0, 64.0, 127.5])


def test_segmentation_smoothing_keeps_confident_pixels_and_blends_uncertain_ones() -> None:
    previous = np.array([0.9, 0.9, 0.1], dtype=np.float32)
    current = np.array([0.5, 1.0, 0.0], dtype=np.float32)
    out = smooth_segmentation(current, previous)
    assert out[0] == pytest.approx(0.5 + 0.4 * 0.7, abs=1e-5)  # fully uncertain: 70% previous
    assert out[1] == pytest.approx(1.0, abs=1e-3) and out[2] == pytest.approx(0.0, abs=1e-3)
    assert smooth_segmentation(current, None) is current
