// Direct stride-1 convolution for small channel counts (NHWC input, HWIO kernel): no im2col, no
// GEMM packing. The image is copied once into a zero-padded buffer; output pixels are then walked in
// "padded-row space" q = oy * wp + ox, where every tap (ky, kx) reads padded[q + ky * wp + kx], a
// plain linear offset, so blocks of P consecutive q need no boundary tests (the kw - 1 columns past
// each output row are computed and dropped). SIMD vectors run over output channels (4, 8 or 16
// lanes), P pixels per block keep 8 vector accumulators live. Every output sums its taps in the
// fixed order (ky, kx, ci): results depend only on shapes, never on the worker count.
//
// Backward data is the same kernel on the padded output gradient with the kernel flipped and its
// channel axes swapped (`flipTranspose`); backward weights (`weightGradImage`) walks the pixels once
// per (ky, kx, channel block) with channel-block x output-channel vector accumulators.
// `Reference.conv2D` stays the readable definition the tests compare with.
//
// On CPUs with AVX2 and FMA the same kernels run as C (Sources/CKernels/direct_conv_avx2.c: 8-lane
// vectors, the same operations in the same order; unfused, bit-identical results, which the tests
// check; the engine runs them fused, with FMA); the Swift SIMD code below compiles to SSE for baseline
// x86-64 and is the fallback elsewhere (so results there differ from AVX2 machines' by rounding).
// With AVX-512 (direct_conv_avx512.c, `avx512:`) the forward kernel for cout a multiple of 32 and
// the weight gradient for cout >= 16 run 16-lane vectors, with the AVX2 kernels' bits.

import CKernels

@inline(__always) private func load<V: SIMD>(_ p: UnsafePointer<Float>, _: V.Type) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always) private func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>, accumulate: Bool) where V.Scalar == Float {
    let r = UnsafeMutableRawPointer(p)
    if accumulate { r.storeBytes(of: r.loadUnaligned(as: V.self) + v, as: V.self) } else { r.storeBytes(of: v, as: V.self) }
}

enum DirectConv {
    /// Shapes routed to the direct kernels (stride 1, at most `maxDirectOutputChannels` output channels),
    /// from per-layer measurements against im2col + OpenBLAS (docs/performance.md). The AVX2 kernels
    /// take any channel counts and win wherever GEMM packing or a large im2col buffer dominates:
    /// reductions up to 9·64 taps (every densenet-mini layer), or large images; 1×1 convolutions
    /// (no im2col) and wide reductions on small images tie, and stay with OpenBLAS — except where
    /// Winograd F(2×2, 3×3) takes the forward and input-gradient passes (`winograd`), which wins from
    /// 14×14 on (DenseNet-121's 14×14 layers, cin 128 → 32, moved: all its 3×3 forward and backward
    /// passes at batch 8 went from ≈ 325 to ≈ 285 ms a step). Not F(4×4, 3×3): its larger rounding on
    /// the small DenseNet's 16×16 layers flipped 164 of 416 586 first Adam steps against Keras 3's
    /// (3 with F(2×2)), past `ConfigTests`' bound. The SSE-width Swift kernels need multiples of 4 and win only for cout <= 8, or 16
    /// channels on larger images.
    static func isProfitable(
        cin: Int, cout: Int, kernel: (Int, Int), strides: (Int, Int), outputPixels: Int, winograd: Bool = false,
        configuration: EngineConfiguration
    ) -> Bool {
        guard configuration.convolutions == .automatic, strides == (1, 1),
            cout <= configuration.maxDirectOutputChannels
        else { return false }
        if configuration.usesAVX2 {
            let taps = kernel.0 * kernel.1
            return taps > 1 && (taps * cin <= 576 || outputPixels >= (winograd ? 196 : 784))
        }
        return cin % 4 == 0 && cout % 4 == 0 && (cout <= 8 || outputPixels >= 196)
    }

    /// Shapes the direct path can take in inference whatever the image size (the AVX2 kernels, stride 1,
    /// at most `maxDirectOutputChannels` output channels, a window wider than 1×1): `isProfitable`'s
    /// shapes but for its pixel count, which measured the training kernels against OpenBLAS.
    static func fitsInference(cout: Int, kernel: (Int, Int), strides: (Int, Int), configuration: EngineConfiguration) -> Bool {
        configuration.convolutions == .automatic && configuration.usesAVX2 && strides == (1, 1)
            && cout <= configuration.maxDirectOutputChannels && kernel.0 * kernel.1 > 1
    }

    /// dst[hp, wp, c] = zero-padded copy of src[h, w, c] placed at (top, left); with `rows`, only
    /// those padded rows, from dst on (an image's band of rows).
    @inline(__always)
    static func pad(
        _ src: UnsafePointer<Float>, h: Int, w: Int, c: Int, top: Int, left: Int, hp: Int, wp: Int,
        rows: Range<Int>? = nil, into dst: UnsafeMutablePointer<Float>
    ) {
        pad(h: h, w: w, c: c, top: top, left: left, hp: hp, wp: wp, rows: rows, into: dst) { pixel, d, pixels in
            d.update(from: src + pixel * c, count: pixels * c)
        }
    }

    /// The same with the image's pixels written by `copy(first pixel, destination, pixels)`, one run
    /// of a row at a time.
    @inline(__always)
    static func pad(
        h: Int, w: Int, c: Int, top: Int, left: Int, hp: Int, wp: Int, rows: Range<Int>? = nil,
        into dst: UnsafeMutablePointer<Float>,
        copy: (_ firstPixel: Int, _ into: UnsafeMutablePointer<Float>, _ pixels: Int) -> Void
    ) {
        let rowLen = wp * c, rows = rows ?? 0..<hp
        for r in rows {
            let d = dst + (r - rows.lowerBound) * rowLen
            let iy = r - top
            if iy < 0 || iy >= h { d.update(repeating: 0, count: rowLen); continue }
            let x0 = Swift.max(0, left), x1 = Swift.min(wp, left + w)
            if x0 > 0 { d.update(repeating: 0, count: x0 * c) }
            copy(iy * w + (x0 - left), d + x0 * c, x1 - x0)
            if x1 < wp { (d + x1 * c).update(repeating: 0, count: (wp - x1) * c) }
        }
    }

    /// out[ky, kx, co, ci] = w[kh-1-ky, kw-1-kx, ci, co]: the kernel of the backward-data convolution.
    static func flipTranspose(_ w: UnsafePointer<Float>, kh: Int, kw: Int, cin: Int, cout: Int, into out: UnsafeMutablePointer<Float>) {
        for ky in 0..<kh {
            for kx in 0..<kw {
                let src = w + ((kh - 1 - ky) * kw + (kw - 1 - kx)) * cin * cout
                let dst = out + (ky * kw + kx) * cout * cin
                for ci in 0..<cin { for co in 0..<cout { dst[co * cin + ci] = src[ci * cout + co] } }
            }
        }
    }

    /// Floats of `forwardImage`'s scratch for a padded image of hp × wp pixels (the AVX2 kernel's
    /// channel-planar copy, for outputs whose last 1-8 channels run with vectors over pixels).
    static func forwardScratch(hp: Int, wp: Int, cin: Int, wide: Bool) -> Int {
        wide ? ckernels_conv_forward_scratch(hp, wp, cin) : 0
    }

    /// y[ho, wo, cout] (=, or += if accumulate; pixels `ldy` floats apart, so a dense block's conv
    /// writes straight into its channels of the block buffer) conv of the padded image
    /// xp[ho+kh-1, wp, cin] with w[kh, kw, cin, cout], then + bias and relu (`biasActivate`);
    /// wp >= wo + kw - 1. `scratch` holds `forwardScratch` floats. `fused` (what the engine runs): the
    /// AVX2 kernels add each product unrounded (FMA), ~1.3× faster; unfused they round each product, as
    /// the Swift kernels always do, which lets the tests compare the two bit for bit. `wide`: the AVX2
    /// kernels (`EngineConfiguration.usesAVX2`), else the Swift ones; with `avx512` the fused AVX-512
    /// kernel where cout is a multiple of 32 (the AVX2 kernel's bits).
    static func forwardImage(
        xp: UnsafePointer<Float>, wp: Int, cin: Int, ho: Int, wo: Int, kh: Int, kw: Int,
        w: UnsafePointer<Float>, cout: Int, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool,
        bias: UnsafeMutablePointer<Float>? = nil, relu: Bool = false,
        scratch: UnsafeMutablePointer<Float>?, fused: Bool = false, wide: Bool, avx512: Bool = false
    ) {
        if wide {
            let kernel = avx512 ? ckernels_conv_forward_avx512 : ckernels_conv_forward_avx2
            kernel(
                xp, wp, cin, ho, wo, kh, kw, w, cout, y, ldy, accumulate ? 1 : 0, bias, relu ? 1 : 0,
                scratch, fused ? 1 : 0)
            return
        }
        struct Chunk: ChannelChunk {
            let xp: UnsafePointer<Float>, wp, cin, ho, wo, kh, kw: Int, w: UnsafePointer<Float>, cout: Int
            let y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
            func run<V: SIMD>(_ width: V.Type, from c0: Int) where V.Scalar == Float {
                DirectConv.forwardChunk(
                    width, xp: xp, wp: wp, cin: cin, ho: ho, wo: wo, kh: kh, kw: kw,
                    w: w + c0, ldw: cout, y: y + c0, ldy: ldy, accumulate: accumulate)
            }
        }
        forEachChannelChunk(
            cout,
            Chunk(
                xp: xp, wp: wp, cin: cin, ho: ho, wo: wo, kh: kh, kw: kw, w: w, cout: cout,
                y: y, ldy: ldy, accumulate: accumulate))
        biasActivate(y, rows: ho * wo, cols: cout, ldy: ldy, bias: bias, relu: relu)
    }

    /// Runs `chunk` over the output channels 16, then 8, then 4 at a time (`count` is a multiple
    /// of 4: the Swift kernels' routing requires it).
    @inline(__always)
    private static func forEachChannelChunk(_ count: Int, _ chunk: some ChannelChunk) {
        var c0 = 0
        while c0 < count {
            let left = count - c0
            if left >= 16 {
                chunk.run(SIMD16<Float>.self, from: c0); c0 += 16
            } else if left >= 8 {
                chunk.run(SIMD8<Float>.self, from: c0); c0 += 8
            } else {
                chunk.run(SIMD4<Float>.self, from: c0); c0 += 4
            }
        }
    }

    @inline(__always)
    private static func put<V: SIMD>(
        _ v: V, _ q: Int, wp: Int, wo: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int,
        _ accumulate: Bool
    ) where V.Scalar == Float {
        let oy = q / wp, ox = q - oy * wp
        if ox < wo { store(v, y + (oy * wo + ox) * ldy, accumulate: accumulate) }
    }

    @inline(__always)
    private static func forwardChunk<V: SIMD>(
        _: V.Type, xp: UnsafePointer<Float>, wp: Int, cin: Int, ho: Int, wo: Int,
        kh: Int, kw: Int, w: UnsafePointer<Float>, ldw: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate acc: Bool
    ) where V.Scalar == Float {
        let qEnd = (ho - 1) * wp + wo
        let P = V.scalarCount <= 4 ? 8 : (V.scalarCount <= 8 ? 4 : 2)
        let taps = kw * cin, rowStride = wp * cin
        var q = 0
        while q < qEnd {
            let x0 = xp + q * cin
            if P == 8 && q + 8 <= qEnd {
                var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
                for ky in 0..<kh {
                    let xr = x0 + ky * rowStride, wr = w + ky * taps * ldw
                    for t in 0..<taps {
                        let wv = load(wr + t * ldw, V.self), x = xr + t
                        a0 += V(repeating: x[0]) * wv; a1 += V(repeating: x[cin]) * wv
                        a2 += V(repeating: x[2 * cin]) * wv; a3 += V(repeating: x[3 * cin]) * wv
                        a4 += V(repeating: x[4 * cin]) * wv; a5 += V(repeating: x[5 * cin]) * wv
                        a6 += V(repeating: x[6 * cin]) * wv; a7 += V(repeating: x[7 * cin]) * wv
                    }
                }
                put(a0, q, wp: wp, wo: wo, y, ldy, acc); put(a1, q + 1, wp: wp, wo: wo, y, ldy, acc)
                put(a2, q + 2, wp: wp, wo: wo, y, ldy, acc); put(a3, q + 3, wp: wp, wo: wo, y, ldy, acc)
                put(a4, q + 4, wp: wp, wo: wo, y, ldy, acc); put(a5, q + 5, wp: wp, wo: wo, y, ldy, acc)
                put(a6, q + 6, wp: wp, wo: wo, y, ldy, acc); put(a7, q + 7, wp: wp, wo: wo, y, ldy, acc)
                q += 8
            } else if P >= 4 && q + 4 <= qEnd {
                var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                for ky in 0..<kh {
                    let xr = x0 + ky * rowStride, wr = w + ky * taps * ldw
                    for t in 0..<taps {
                        let wv = load(wr + t * ldw, V.self), x = xr + t
                        a0 += V(repeating: x[0]) * wv; a1 += V(repeating: x[cin]) * wv
                        a2 += V(repeating: x[2 * cin]) * wv; a3 += V(repeating: x[3 * cin]) * wv
                    }
                }
                put(a0, q, wp: wp, wo: wo, y, ldy, acc); put(a1, q + 1, wp: wp, wo: wo, y, ldy, acc)
                put(a2, q + 2, wp: wp, wo: wo, y, ldy, acc); put(a3, q + 3, wp: wp, wo: wo, y, ldy, acc)
                q += 4
            } else if q + 2 <= qEnd {
                var a0 = V(), a1 = V()
                for ky in 0..<kh {
                    let xr = x0 + ky * rowStride, wr = w + ky * taps * ldw
                    for t in 0..<taps {
                        let wv = load(wr + t * ldw, V.self), x = xr + t
                        a0 += V(repeating: x[0]) * wv; a1 += V(repeating: x[cin]) * wv
                    }
                }
                put(a0, q, wp: wp, wo: wo, y, ldy, acc); put(a1, q + 1, wp: wp, wo: wo, y, ldy, acc)
                q += 2
            } else {
                var a0 = V()
                for ky in 0..<kh {
                    let xr = x0 + ky * rowStride, wr = w + ky * taps * ldw
                    for t in 0..<taps { a0 += V(repeating: xr[t]) * load(wr + t * ldw, V.self) }
                }
                put(a0, q, wp: wp, wo: wo, y, ldy, acc)
                q += 1
            }
        }
    }

    /// dw[kh, kw, cin, cout] (= if first, else +=) sum over output pixels of
    /// xp[oy+ky, ox+kx, ci] * dy[oy, ox, co], for one padded image xp[.., wp, cin]. `fused`, `wide`: as in
    /// `forwardImage`; with `avx512` (and `wide`) the AVX-512 kernel where cout >= 16 (the AVX2 kernel's bits),
    /// which walks large images in row bands, its sums waiting in `partials` (kh·kw·cin·cout floats, needed
    /// unless `first`) between them.
    static func weightGradImage(
        xp: UnsafePointer<Float>, wp: Int, cin: Int, ho: Int, wo: Int, kh: Int, kw: Int,
        dy: UnsafePointer<Float>, cout: Int, dw: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>?,
        first: Bool, fused: Bool = false, wide: Bool, avx512: Bool = false
    ) {
        if wide && avx512 {
            ckernels_conv_weight_grad_avx512(xp, wp, cin, ho, wo, kh, kw, dy, cout, dw, partials, first ? 1 : 0, fused ? 1 : 0)
            return
        }
        if wide {
            ckernels_conv_weight_grad_avx2(xp, wp, cin, ho, wo, kh, kw, dy, cout, dw, first ? 1 : 0, fused ? 1 : 0)
            return
        }
        struct Chunk: ChannelChunk {
            let xp: UnsafePointer<Float>, wp, cin, ho, wo, kh, kw: Int, dy: UnsafePointer<Float>, cout: Int
            let dw: UnsafeMutablePointer<Float>, first: Bool
            func run<V: SIMD>(_ width: V.Type, from c0: Int) where V.Scalar == Float {
                DirectConv.weightGradChunk(
                    width, xp: xp, wp: wp, cin: cin, ho: ho, wo: wo, kh: kh, kw: kw,
                    dy: dy + c0, cout: cout, dw: dw + c0, first: first)
            }
        }
        forEachChannelChunk(
            cout,
            Chunk(
                xp: xp, wp: wp, cin: cin, ho: ho, wo: wo, kh: kh, kw: kw, dy: dy, cout: cout,
                dw: dw, first: first))
    }

    @inline(__always)
    private static func weightGradChunk<V: SIMD>(
        _: V.Type, xp: UnsafePointer<Float>, wp: Int, cin: Int, ho: Int, wo: Int,
        kh: Int, kw: Int, dy: UnsafePointer<Float>, cout: Int,
        dw: UnsafeMutablePointer<Float>, first: Bool
    ) where V.Scalar == Float {
        // channel block: 8 vector accumulators (4 for 16-lane vectors, which take 4 SSE registers each)
        let CB = V.scalarCount <= 4 ? 8 : (V.scalarCount <= 8 ? 4 : 2)
        for ky in 0..<kh {
            for kx in 0..<kw {
                let wtap = dw + (ky * kw + kx) * cin * cout
                var ci = 0
                while ci < cin {
                    let x0 = xp + (ky * wp + kx) * cin + ci
                    if CB == 8 && ci + 8 <= cin {
                        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
                        for oy in 0..<ho {
                            let xr = x0 + oy * wp * cin, dr = dy + oy * wo * cout
                            for ox in 0..<wo {
                                let g = load(dr + ox * cout, V.self), x = xr + ox * cin
                                a0 += V(repeating: x[0]) * g; a1 += V(repeating: x[1]) * g
                                a2 += V(repeating: x[2]) * g; a3 += V(repeating: x[3]) * g
                                a4 += V(repeating: x[4]) * g; a5 += V(repeating: x[5]) * g
                                a6 += V(repeating: x[6]) * g; a7 += V(repeating: x[7]) * g
                            }
                        }
                        let d = wtap + ci * cout, f = !first
                        store(a0, d, accumulate: f); store(a1, d + cout, accumulate: f)
                        store(a2, d + 2 * cout, accumulate: f); store(a3, d + 3 * cout, accumulate: f)
                        store(a4, d + 4 * cout, accumulate: f); store(a5, d + 5 * cout, accumulate: f)
                        store(a6, d + 6 * cout, accumulate: f); store(a7, d + 7 * cout, accumulate: f)
                        ci += 8
                    } else if CB >= 4 && ci + 4 <= cin {
                        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                        for oy in 0..<ho {
                            let xr = x0 + oy * wp * cin, dr = dy + oy * wo * cout
                            for ox in 0..<wo {
                                let g = load(dr + ox * cout, V.self), x = xr + ox * cin
                                a0 += V(repeating: x[0]) * g; a1 += V(repeating: x[1]) * g
                                a2 += V(repeating: x[2]) * g; a3 += V(repeating: x[3]) * g
                            }
                        }
                        let d = wtap + ci * cout, f = !first
                        store(a0, d, accumulate: f); store(a1, d + cout, accumulate: f)
                        store(a2, d + 2 * cout, accumulate: f); store(a3, d + 3 * cout, accumulate: f)
                        ci += 4
                    } else if ci + 2 <= cin {
                        var a0 = V(), a1 = V()
                        for oy in 0..<ho {
                            let xr = x0 + oy * wp * cin, dr = dy + oy * wo * cout
                            for ox in 0..<wo {
                                let g = load(dr + ox * cout, V.self), x = xr + ox * cin
                                a0 += V(repeating: x[0]) * g; a1 += V(repeating: x[1]) * g
                            }
                        }
                        let d = wtap + ci * cout
                        store(a0, d, accumulate: !first); store(a1, d + cout, accumulate: !first)
                        ci += 2
                    } else {
                        var a0 = V()
                        for oy in 0..<ho {
                            let xr = x0 + oy * wp * cin, dr = dy + oy * wo * cout
                            for ox in 0..<wo { a0 += V(repeating: xr[ox * cin]) * load(dr + ox * cout, V.self) }
                        }
                        store(a0, wtap + ci * cout, accumulate: !first)
                        ci += 1
                    }
                }
            }
        }
    }
}

/// One slice of output channels of a direct-convolution kernel, `V.scalarCount` wide from `c0`.
private protocol ChannelChunk {
    func run<V: SIMD>(_ width: V.Type, from c0: Int) where V.Scalar == Float
}
