@testable import DenseNetEngine
import TestSupport

/// Gradient checker: a graph built from `build`, f = sum(r * y) in Double with fixed random r,
/// compared against central finite differences.
final class GradientCheck {
    let ex: Executor
    let inputShape: [Int]
    let batch: Int
    let outID: Int
    let r: [Float]
    let variables: [Variable]
    let mode: ForwardMode

    init(
        inputShape: [Int], batch: Int, mode: ForwardMode = .training(updateStatistics: false), seed: UInt64 = 7,
        configuration: EngineConfiguration = .default, _ build: (GraphBuilder, SymbolicTensor) throws -> SymbolicTensor
    ) throws {
        let g = GraphBuilder(seed: seed)
        let x = g.input(shape: inputShape)
        let y = try build(g, x)
        var vars: [Variable] = []
        var seen = Set<ObjectIdentifier>()
        for n in g.nodes {
            if let l = n.op as? any Layer {
                for v in l.trainableVariables where seen.insert(ObjectIdentifier(v)).inserted { vars.append(v) }
            }
        }
        variables = vars
        ex = Executor(
            nodes: g.nodes, capacity: batch, parallel: Parallel(workers: 2), configuration: configuration,
            gradientForInputs: true)
        self.inputShape = inputShape
        self.batch = batch
        self.mode = mode
        outID = y.id
        r = randomFloats(batch * product(y.shape), seed: seed &+ 99)
    }

    var input: UnsafeMutablePointer<Float> { ex.outputs[0] }

    func setInput(_ v: [Float]) {
        precondition(v.count == batch * product(inputShape))
        for i in v.indices { input[i] = v[i] }
    }

    func f() -> Double {
        ex.forward(batch: batch, mode: mode)
        var s = 0.0
        for i in r.indices { s += Double(r[i]) * Double(ex.outputs[outID][i]) }
        return s
    }

    /// Analytical gradients: (input gradient, per-variable gradients).
    func analytic() -> (input: [Float], params: [[Float]]) {
        for v in variables { v.grad.update(repeating: 0, count: v.count) }
        _ = f()
        for i in r.indices { ex.grads[outID]![i] = r[i] }
        ex.backward(batch: batch, seed: outID)
        let n = batch * product(inputShape)
        return (Array(UnsafeBufferPointer(start: ex.grads[0]!, count: n)), variables.map { $0.gradient })
    }

    func numeric(at p: UnsafeMutablePointer<Float>, h: Float) -> Double {
        let old = p.pointee
        p.pointee = old + h
        let fp = f()
        p.pointee = old - h
        let fm = f()
        p.pointee = old
        return (fp - fm) / (Double(old + h) - Double(old - h))
    }

    /// Max over checked elements of |num - ana| / (atol + rtol * max|ana|); <= 1 passes.
    /// Checks up to `samples` evenly spaced elements of the input and of each variable.
    func worstRatio(h: Float = 1e-2, atol: Double = 1e-3, rtol: Double = 1e-2, samples: Int = 60) -> (ratio: Double, detail: String) {
        let (gi, gp) = analytic()
        var worst = 0.0, detail = ""
        func check(_ name: String, _ ptr: UnsafeMutablePointer<Float>, _ count: Int, _ ana: [Float]) {
            let scale = ana.map { abs(Double($0)) }.max() ?? 0
            let step = Swift.max(1, count / samples)
            for i in stride(from: 0, to: count, by: step) {
                let num = numeric(at: ptr + i, h: h)
                let ratio = abs(num - Double(ana[i])) / (atol + rtol * scale)
                if ratio > worst { worst = ratio; detail = "\(name)[\(i)] numeric \(num) analytic \(ana[i]) scale \(scale)" }
            }
        }
        check("input", input, batch * product(inputShape), gi)
        for (k, v) in variables.enumerated() { check(v.name + "#\(k)", v.data, v.count, gp[k]) }
        return (worst, detail)
    }
}
