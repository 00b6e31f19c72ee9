"""Frame sources: picamera2, V4L2/USB, video files and RTSP behind one FrameSource protocol."""
