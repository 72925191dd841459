% Makes the Octave fixtures of tests/cli/test_matlab_octave.py (GNU Octave 7.3,
% Debian bookworm): octave-cli -q make.m in this folder.
frames = single(reshape(mod((1:240) * 37, 1000) / 10, 6, 5, 8));  % R x C x T
time = (0:7) / 100;
frame_rate_hz = 100;
units = 'kPa';
save -v6 v6.mat frames time frame_rate_hz units
save -v7 v7.mat frames time frame_rate_hz units
mask = true(6, 5); mask(1, 1) = false;
frames = uint16(frames * 10);
save -v6 v6_uint16_mask.mat frames mask
s.frames = single(reshape(mod((1:240) * 53, 1000) / 10, 6, 5, 8));
s.time = (0:7)' / 50;
s.fs = 50;
s.units = 'kPa';
s.subject = 'P07 left thigh';
save -v7 struct_v7.mat s
save -v6 struct_v6.mat s
frames = s.frames(:, :, 1);
save -v4 v4.mat frames
save -text text.mat frames
