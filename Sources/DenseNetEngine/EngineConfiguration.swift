// Which kernels the engine runs: a value given to the model by whoever builds it (the CLI maps its
// DENSENET_IO_* switches onto it; tests pick paths with it). The engine reads no environment.

import CKernels

/// The engine's kernel choices. `.default` takes the fastest paths this CPU has; the others exist for
/// A/B measurements and for tests of each path. The choices change speed and rounding, never the
/// computation (docs/engine.md).
public struct EngineConfiguration: Sendable, Equatable {
    /// Which SIMD kernels run the direct convolutions, 2×2 max pooling and batch normalization.
    public enum Kernels: String, Sendable, CaseIterable {
        /// The widest C kernels the CPU has (checked at run time): AVX-512 where it exists (Winograd
        /// inference), AVX2 + FMA for the rest, else `portable`.
        case automatic
        /// The AVX2 + FMA C kernels even where AVX-512 exists, else `portable` (A/B measurements, and
        /// the tests that compare the AVX-512 kernels with them bit for bit).
        case avx2
        /// The Swift SIMD kernels (SSE on x86-64) whatever the CPU.
        case portable
    }

    /// Which path convolutions take.
    public enum Convolutions: String, Sendable, CaseIterable {
        /// The direct kernels for the shapes where they were measured to pay, im2col + OpenBLAS for the rest.
        case automatic
        /// im2col + OpenBLAS for every convolution (the engine before the direct kernels).
        case blas
    }

    /// How batch normalization's statistics and gradient sums and the bias gradients are summed
    /// over a batch's rows (`Summation`).
    public enum Summation: String, Sendable, CaseIterable {
        /// In float32, in tf-keras' order (`TensorFlowOrder`): bit-exact with tf-keras on one
        /// process. The order depends on the row count, so data-parallel ranks, each holding a share
        /// of the rows, round differently from one process (docs/distributed.md).
        case tensorFlow = "tensorflow"
        /// In float64, summed over the processes before rounding once to float32: the result does
        /// not depend on how the rows are split between processes (up to float64 rounding).
        case float64
    }

    /// Which SIMD kernels run.
    public var kernels: Kernels
    /// Which path convolutions take.
    public var convolutions: Convolutions
    /// The widest convolution (output channels) given to the direct kernels; nil: 32 with the AVX2
    /// kernels, 8 with the portable ones (the measured break-even, docs/performance.md).
    public var directMaxOutputChannels: Int?
    /// Forward passes (inference and training) of eligible 3×3 convolutions by Winograd F(2×2, 3×3)
    /// (the AVX2 kernels and up; F(4×4, 3×3) with AVX-512 where both output sizes are multiples of 4);
    /// false keeps them on the direct kernels.
    public var winograd: Bool
    /// How the row sums of batch normalization and bias gradients are taken: `.tensorFlow` (the
    /// default, tf-keras' bits) or `.float64` (independent of a data-parallel run's world size).
    public var summation: Summation

    /// A configuration; the defaults are `.default`'s, the fastest paths.
    public init(
        kernels: Kernels = .automatic, convolutions: Convolutions = .automatic, directMaxOutputChannels: Int? = nil,
        winograd: Bool = true, summation: Summation = .tensorFlow
    ) {
        self.kernels = kernels
        self.convolutions = convolutions
        self.directMaxOutputChannels = directMaxOutputChannels
        self.winograd = winograd
        self.summation = summation
    }

    /// The fastest paths this CPU has.
    public static let `default` = EngineConfiguration()

    /// The CPU has AVX2 and FMA (cpuid, asked once).
    public static let cpuHasAVX2FMA = ckernels_has_avx2_fma() != 0

    /// The CPU has AVX-512 Foundation (cpuid and the OS's register state, asked once).
    public static let cpuHasAVX512 = ckernels_has_avx512f() != 0

    /// The AVX2 kernels run: `kernels` is not `.portable` and the CPU has them.
    public var usesAVX2: Bool { kernels != .portable && Self.cpuHasAVX2FMA }

    /// The AVX-512 kernels run where they exist: `kernels` is `.automatic` and the CPU has AVX-512
    /// beside AVX2 + FMA.
    public var usesAVX512: Bool { kernels == .automatic && Self.cpuHasAVX2FMA && Self.cpuHasAVX512 }

    /// The widest kernels that run, as reports name them: "avx512" (Winograd inference; AVX2 for the
    /// rest), "avx2" or "portable".
    public var kernelsInUse: String { usesAVX512 ? "avx512" : usesAVX2 ? "avx2" : "portable" }

    /// `directMaxOutputChannels`, or the default of the kernels that run.
    var maxDirectOutputChannels: Int { directMaxOutputChannels ?? (usesAVX2 ? 32 : 8) }
}
