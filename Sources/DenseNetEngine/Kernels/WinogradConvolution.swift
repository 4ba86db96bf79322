// A 3×3 stride-1 convolution by Winograd (Sources/CKernels/winograd_avx2.c, winograd_avx512.c), for the
// direct path's forward passes and, with the flipped kernel, its backward-data passes: the kernel's
// transform is kept and remade only when the weights it came from change (`TransformedValues`).

import CKernels

/// One Winograd convolution of `cin` channels into `cout`, and its kernel's transform.
final class WinogradConvolution {
    /// Output rows and columns per tile: 4, F(4×4, 3×3), with the AVX-512 kernels where both output
    /// sizes are multiples of 4 (DenseNet's 56² and 28² layers; 0.6× F(2×2, 3×3)'s time,
    /// docs/performance.md); 2, F(2×2, 3×3), otherwise.
    let tile: Int
    let cin: Int, cout: Int
    private let usesAVX512: Bool
    /// The transform [(tile + 2)², cin, cout] and which values it was made from.
    private let transform: UnsafeMutablePointer<Float>
    private var transformedFrom = TransformedValues()

    /// The Winograd path for a 3×3 stride-1 convolution with `outputRows × outputColumns` outputs, or nil
    /// where it does not apply: the configuration without Winograd or AVX2, odd output sizes, channel
    /// counts that are not multiples of 8.
    init?(cin: Int, cout: Int, outputRows: Int, outputColumns: Int, configuration: EngineConfiguration) {
        guard configuration.winograd, configuration.usesAVX2, outputRows % 2 == 0, outputColumns % 2 == 0,
            cin % 8 == 0, cout % 8 == 0
        else { return nil }
        self.cin = cin
        self.cout = cout
        usesAVX512 = configuration.usesAVX512
        tile = usesAVX512 && outputRows % 4 == 0 && outputColumns % 4 == 0 ? 4 : 2
        transform = .allocate(capacity: (tile + 2) * (tile + 2) * cin * cout)
    }

    deinit { transform.deallocate() }

    /// Floats of scratch per call.
    var scratch: Int { tile == 4 ? ckernels_winograd4_scratch(cin, cout) : ckernels_winograd_scratch(cin, cout) }

    /// Transforms `weights` ([3, 3, cin, cout], made from `variable`'s values) unless the transform is
    /// already of `variable`'s current values (after every training step; ≈ 10 µs for 32 → 32), the
    /// workers sharing its positions.
    func prepare(_ weights: UnsafePointer<Float>, madeFrom variable: Variable, parallel: Parallel) {
        if transformedFrom.areCurrent(for: variable) { return }
        let make = tile == 4 ? ckernels_winograd4_kernel : ckernels_winograd_kernel
        let (cin, cout, transform) = (cin, cout, transform)
        parallel.forEachRange(cin * cout / 8, minChunk: 64) { octets in
            make(weights, cin, cout, 8 * octets.lowerBound, 8 * octets.count, transform)
        }
        transformedFrom.record(variable)
    }

    /// y[rows, columns, cout] (pixels `ldy` floats apart) of the padded image xp[rows + 2, wp, cin], then +
    /// bias and max(y, 0) when `relu`.
    func run(
        _ xp: UnsafePointer<Float>, wp: Int, rows: Int, columns: Int, into y: UnsafeMutablePointer<Float>, stride ldy: Int,
        bias: UnsafePointer<Float>?, relu: Bool, scratch: UnsafeMutablePointer<Float>
    ) {
        let convolve =
            tile == 4 ? ckernels_conv_winograd4_avx512 : usesAVX512 ? ckernels_conv_winograd_avx512 : ckernels_conv_winograd_avx2
        convolve(xp, wp, cin, rows, columns, transform, cout, y, ldy, bias, relu ? 1 : 0, scratch)
    }
}
