// Small batches on all workers: each image's output cut into bands of rows.
//
// The engine's parallel pieces are whole images (or chunks of images), so a batch of one ran on one
// core: DenseNet-121's batch-1 latency used one core of two (perf: the helper threads only spun). In
// a batch of fewer than 8 images (8: the most workers `Parallel` starts), the convolutions and
// poolings now cut each image into up to 8 / batch bands of output rows, each a piece of its own.
// The count comes from the batch size and the shapes only, never from the worker count (the
// determinism rule of `Parallel`), so every machine computes the same bits.
//
// Which bits: an output of the direct and Winograd kernels, or of a pooling, is computed by itself
// (one FMA chain over its taps; Winograd tiles one by one), so bands give exactly the whole image's
// bits (`ImageBandTests`). OpenBLAS picks its kernels by the matrix sizes, so a band's GEMM rounds
// differently from the whole image's; that is why the GEMM path cuts bands in inference only:
// training keeps its bits (data-parallel ranks compare them).
//
// Measured on the 2-core machine (docs/performance.md, "Batch 1 on both cores"): with both cores free
// DenseNet-121's batch-1 latency fell from 104 to 70 ms (medians of 5 interleaved rounds), batch 8
// unchanged; on a machine loaded by other processes bands lose (a layer waits for a helper the OS took
// away mid-band).

/// Bands of output rows per image for a batch of `batch` images whose output has `rows` rows of
/// `pixelsPerRow` pixels: up to 8 / batch, each of at least `minimumPixels` pixels (a band's fixed
/// costs, OpenBLAS packing its weights, must stay small), at least 1.
@inline(__always) func imageBands(batch: Int, rows: Int, pixelsPerRow: Int, minimumPixels: Int = 32) -> Int {
    Swift.max(1, Swift.min(8 / Swift.max(batch, 1), rows, rows * pixelsPerRow / minimumPixels))
}

extension ConvKernel {
    /// Bands per image of this convolution's forward pass (`imageBands`): in inference only; the
    /// Winograd path in whole tiles of rows; the other direct kernels from 24 pixels a band
    /// (they pack no weights), so a 7×7 image — DenseNet's block 4 — takes both cores in two bands.
    func bands(batch: Int, mode: ForwardMode) -> (count: Int, rowsPerUnit: Int) {
        guard mode == .inference else { return (1, 1) }
        let unit = winograd?.tile ?? 1
        let minimumPixels = directInInference && unit == 1 ? 24 : 32
        return (imageBands(batch: batch, rows: g.ho / unit, pixelsPerRow: unit * g.wo, minimumPixels: minimumPixels), unit)
    }

    /// The output rows of band `band` of `count`, whole units of `rowsPerUnit` rows.
    func bandRows(_ band: Int, of bands: (count: Int, rowsPerUnit: Int)) -> Range<Int> {
        let units = pieceRange(band, of: bands.count, count: g.ho / bands.rowsPerUnit)
        return (units.lowerBound * bands.rowsPerUnit)..<(units.upperBound * bands.rowsPerUnit)
    }

    /// Inference forward of the im2col / 1×1 path with each image in `bands` bands of output rows: one
    /// im2col and sgemm per band. Output pixels `ldy` floats apart from `y`.
    func forwardInBands(_ io: NodeIO, batch: Int, bands: Int, into y: UnsafeMutablePointer<Float>, stride ldy: Int) {
        let x = io.inputs[0], w = UnsafePointer(kernel.data), b = bias?.data
        let g = self.g, cout = self.cout, pixIn = self.pixIn, pixOut = self.pixOut, is1x1 = self.is1x1, relu = self.relu
        parallel.forEachPiece(batch * bands) { piece, t in
            let n = piece / bands, rows = bandRows(piece % bands, of: (bands, 1))
            let first = n * pixOut + rows.lowerBound * g.wo, m = rows.count * g.wo
            let yi = y + first * ldy
            if is1x1 {
                // input pixel = output pixel
                sgemm(m: m, n: cout, k: g.cin, a: x + first * g.cin, lda: g.cin, b: w, ldb: cout, beta: 0, c: yi, ldc: ldy)
            } else {
                let col = io.workspace[t]
                g.im2col(x + n * pixIn * g.cin, col, outputRows: rows)
                sgemm(m: m, n: cout, k: g.k, a: col, lda: g.k, b: w, ldb: cout, beta: 0, c: yi, ldc: ldy)
            }
            biasActivate(yi, rows: m, cols: cout, ldy: ldy, bias: b, relu: relu)
        }
    }
}
