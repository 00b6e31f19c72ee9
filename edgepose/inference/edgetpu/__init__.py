"""Everything Coral EdgeTPU in one place.

devices: which EdgeTPUs are attached (sysfs, /dev, pycoral); diagnosis: known problems and fixes;
delegate: loading libedgetpu (pycoral or the TFLite runtime); accelerator: the `edgetpu` plugin;
opsplit: how much of a compiled model runs on the EdgeTPU; report: `edgepose devices` output;
checks live with the other checks in edgepose.checks.edgetpu.
"""
