/// Readable reference implementations (direct loops, Double accumulation) that the optimised kernels are
/// tested against; too slow for anything else.
public enum Reference {
    /// Direct NHWC convolution with an HWIO kernel, TF padding.
    public static func conv2d(
        input x: [Float], batch: Int, height h: Int, width w: Int, channels cin: Int,
        kernel k: [Float], kernelSize: (Int, Int), filters cout: Int, bias: [Float]?,
        strides: (Int, Int), padding: Padding, relu: Bool = false
    ) -> (output: [Float], shape: [Int]) {
        let (ho, pt) = convOutputGeometry(input: h, kernel: kernelSize.0, stride: strides.0, padding: padding)
        let (wo, pl) = convOutputGeometry(input: w, kernel: kernelSize.1, stride: strides.1, padding: padding)
        var y = [Float](repeating: 0, count: batch * ho * wo * cout)
        for n in 0..<batch {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    for co in 0..<cout {
                        var s = Double(bias?[co] ?? 0)
                        for ky in 0..<kernelSize.0 {
                            let iy = oy * strides.0 - pt + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<kernelSize.1 {
                                let ix = ox * strides.1 - pl + kx
                                if ix < 0 || ix >= w { continue }
                                for ci in 0..<cin {
                                    s +=
                                        Double(x[((n * h + iy) * w + ix) * cin + ci])
                                        * Double(k[((ky * kernelSize.1 + kx) * cin + ci) * cout + co])
                                }
                            }
                        }
                        y[((n * ho + oy) * wo + ox) * cout + co] = relu ? Float(Swift.max(s, 0)) : Float(s)
                    }
                }
            }
        }
        return (y, [batch, ho, wo, cout])
    }

    /// Training-mode batch normalisation over the last axis: (y, batch mean, biased batch variance).
    public static func batchNormTraining(_ x: [Float], channels c: Int, gamma: [Float], beta: [Float], epsilon: Float)
        -> (output: [Float], mean: [Double], variance: [Double])
    {
        let rows = x.count / c
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        for r in 0..<rows { for j in 0..<c { mean[j] += Double(x[r * c + j]) } }
        for j in 0..<c { mean[j] /= Double(rows) }
        for r in 0..<rows { for j in 0..<c { let d = Double(x[r * c + j]) - mean[j]; variance[j] += d * d } }
        for j in 0..<c { variance[j] /= Double(rows) }
        var y = [Float](repeating: 0, count: x.count)
        for r in 0..<rows {
            for j in 0..<c {
                y[r * c + j] = Float(
                    (Double(x[r * c + j]) - mean[j]) / (variance[j] + Double(epsilon)).squareRoot()
                        * Double(gamma[j]) + Double(beta[j]))
            }
        }
        return (y, mean, variance)
    }

    /// Dense: y = x W + b.
    public static func dense(_ x: [Float], batch: Int, kernel: [Float], inputs fin: Int, units: Int, bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: batch * units)
        for n in 0..<batch {
            for u in 0..<units {
                var s = Double(bias?[u] ?? 0)
                for i in 0..<fin { s += Double(x[n * fin + i]) * Double(kernel[i * units + u]) }
                y[n * units + u] = Float(s)
            }
        }
        return y
    }
}
