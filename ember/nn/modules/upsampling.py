"""The upsampling layers at PyTorch's path; they are defined with the pools."""

from ember.nn.modules.pooling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
