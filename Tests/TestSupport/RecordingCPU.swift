import CKernels
import Foundation
import HDF5

/// Whether this CPU's rsqrt estimate (`rsqrtss`, which TensorFlow's Eigen kernels refine) gives the
/// bits recorded in `Fixtures/keras/tensorflow_kernels.h5`. The estimate differs between x86-64
/// vendors (the fixtures were written on an AMD EPYC; an Intel Xeon gives other bits, TensorFlow
/// included), so bit-exact comparisons with TensorFlow hold only on a CPU that reproduces them;
/// elsewhere the tests compare at float32 tolerance and say so.
public enum RecordingCPU {
    public static let reproducesTensorFlowRsqrt: Bool = {
        guard let group = try? File.open(Fixture.path("keras/tensorflow_kernels.h5")).root.group("few_rows"),
            let variance = try? group.dataset("batch_variance").read(as: Float.self).scalars,
            let epsilon = try? group.dataset("epsilon").read(as: Float.self).scalars.first,
            let recorded = try? group.dataset("rsqrt").read(as: Float.self).scalars
        else { return false }
        let ours = variance.map { ckernels_tensorflow_rsqrt($0 + epsilon).bitPattern }
        let agrees = ours == recorded.map(\.bitPattern)
        if !agrees {
            print("note: this CPU's rsqrt estimate differs from the fixtures' CPU: TensorFlow-bit comparisons run at float32 tolerance")
        }
        return agrees
    }()
}
