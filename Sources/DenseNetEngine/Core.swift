// Core value types: Tensor, Variable, errors and the engine's deterministic RNG.

import CKernels

/// Errors reported by the engine (never a crash for bad user-supplied values).
public enum EngineError: Error, Equatable, CustomStringConvertible {
    /// A tensor or variable of `what` has the wrong shape; its message states both shapes.
    case shapeMismatch(what: String, expected: [Int], got: [Int])
    /// `what` holds a different number of values (or items) than expected.
    case countMismatch(what: String, expected: Int, got: Int)
    /// A caller's value is out of range or inconsistent; the message says which and why.
    case invalidArgument(String)
    /// A layer or model was used before its variables exist (it has not been called on an input yet).
    case notBuilt(String)

    /// One line for the user: what, and what was expected and got.
    public var description: String {
        switch self {
        case let .shapeMismatch(what, e, g): return "\(what): expected shape \(e), got \(g)"
        case let .countMismatch(what, e, g): return "\(what): expected \(e) values, got \(g)"
        case let .invalidArgument(s): return s
        case let .notBuilt(s): return "not built: \(s)"
        }
    }
}

@inline(__always) func product(_ s: [Int]) -> Int { s.reduce(1, *) }

/// A dense float32 array with a shape (row-major; images are NHWC).
public struct Tensor: Equatable, Sendable {
    /// The dimensions, outermost first; images are `[batch, height, width, channels]`.
    public var shape: [Int]
    /// The values in row-major order; always `shape`'s product of them.
    public var scalars: [Float]

    /// A tensor of `scalars` in row-major order.
    ///
    /// - Throws: `EngineError.countMismatch` when `scalars.count` is not the product of `shape`.
    public init(shape: [Int], scalars: [Float]) throws {
        guard product(shape) == scalars.count else {
            throw EngineError.countMismatch(what: "Tensor \(shape)", expected: product(shape), got: scalars.count)
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.scalars = [Float](repeating: 0, count: product(shape))
    }

    /// The number of values (the product of `shape`).
    public var count: Int { scalars.count }
}

/// SplitMix64: a tiny, fast, seedable generator whose whole state is one UInt64
/// (save `state`, restore it with `init(state:)`).
public struct SplitMix64: RandomNumberGenerator, Equatable, Sendable {
    /// The generator's whole state; saving it and `init(state:)` resume the same sequence.
    public var state: UInt64
    /// A generator started from `seed`; equal seeds give equal sequences on every machine.
    public init(seed: UInt64) { state = seed }
    /// A generator continuing from a saved `state`.
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits (SplitMix64's add-then-mix step).
    @inline(__always) public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform Float in [0, 1) from the top 24 bits.
    @inline(__always) public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform integer in 0..<bound (Lemire's unbiased multiply-shift with rejection).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Mixes several words into one seed (used to derive per-epoch shuffle seeds).
    public static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var g = SplitMix64(seed: a ^ (b &* 0xD6E8_FEB8_6659_FD93))
        _ = g.next()
        return g.next()
    }
}

/// A model variable: owns its storage (and, when trainable, a gradient buffer of the same size).
/// `shape` is the shape Keras stores (HWIO conv kernels, (in, out) dense kernels, (C) vectors).
public final class Variable {
    /// Keras short name: "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance".
    public let name: String
    /// Whether an optimizer updates it (kernels, biases, gamma, beta) or not (BatchNormalization's moving
    /// statistics).
    public let isTrainable: Bool
    /// The shape Keras stores it in (HWIO conv kernels, `(in, out)` dense kernels, `(C)` vectors).
    public let shape: [Int]
    /// The number of values, the product of `shape`.
    public let count: Int
    /// Raw storage (count floats). Stable for the variable's lifetime. After writing through it, call
    /// `markChanged()`.
    public let data: UnsafeMutablePointer<Float>
    /// Gradient storage (count floats; all zero for non-trainable variables).
    public let grad: UnsafeMutablePointer<Float>
    /// Counts changes of the values: the engine's own writes (`setValues`, an optimizer's step) move it,
    /// and `markChanged()` does after a write through `data`. Kernels that keep a transform of a kernel
    /// (packed for the one-pass 1×1 convolution, Winograd-transformed) remake it when it has moved,
    /// instead of comparing every weight before every batch (≈ 15 % of a batch-1 DenseNet-201 call).
    public private(set) var version = 0

    /// Records a change of the values made through `data` (see `version`).
    public func markChanged() { version &+= 1 }

    /// A variable named `name` (Keras' short name, e.g. `kernel`) of `shape`, every value `initialValue`,
    /// with a zero gradient.
    public init(name: String, shape: [Int], trainable: Bool, initialValue: Float = 0) {
        self.name = name
        self.isTrainable = trainable
        self.shape = shape
        self.count = product(shape)
        data = .allocate(capacity: Swift.max(count, 1))
        data.initialize(repeating: initialValue, count: Swift.max(count, 1))
        grad = .allocate(capacity: Swift.max(count, 1))
        grad.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    deinit {
        data.deallocate()
        grad.deallocate()
    }

    /// A copy of the values (row-major in `shape`).
    public var values: [Float] {
        Array(UnsafeBufferPointer(start: data, count: count))
    }

    /// The value as a Tensor (a copy).
    public var tensor: Tensor {
        get { try! Tensor(shape: shape, scalars: values) }
    }

    /// Sets the values from a flat array; `shape`, when given, must equal the variable's shape.
    public func setValues(_ values: [Float], shape: [Int]? = nil) throws {
        if let shape, shape != self.shape {
            throw EngineError.shapeMismatch(what: "variable \(name)", expected: self.shape, got: shape)
        }
        guard values.count == count else {
            throw EngineError.countMismatch(what: "variable \(name) \(self.shape)", expected: count, got: values.count)
        }
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
        markChanged()
    }

    /// Sets the values from `bytes`: exactly `count` native float32 values, e.g. a weight file's dataset.
    /// The copy bypasses the cache (a load writes tens of MB that no one reads right after).
    public func setValues(bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == count * MemoryLayout<Float>.size else {
            throw EngineError.countMismatch(
                what: "bytes of variable \(name) \(shape)", expected: count * MemoryLayout<Float>.size, got: bytes.count)
        }
        if let source = bytes.baseAddress { ckernels_copy_streaming(data, source, bytes.count) }
        markChanged()
    }

    /// Sets the values from `tensor`, whose shape must equal the variable's.
    ///
    /// - Throws: `EngineError.shapeMismatch` or `EngineError.countMismatch`.
    public func setValue(_ tensor: Tensor) throws {
        try setValues(tensor.scalars, shape: tensor.shape)
    }

    /// A copy of the gradient computed by the last backward pass.
    public var gradient: [Float] {
        Array(UnsafeBufferPointer(start: grad, count: count))
    }
}

/// Which values of a variable a kept transform of them (a packed or Winograd-transformed kernel) was
/// made from: the variable's `version` then, and the values' checksum, which debug builds check so that
/// a write through `data` without `markChanged()` fails a test instead of leaving the transform stale.
struct TransformedValues {
    private var version: Int?
    private var checksum = 0.0

    /// The transform was made from `variable`'s current values.
    func areCurrent(for variable: Variable) -> Bool {
        guard version == variable.version else { return false }
        assert(
            DenseNetEngine.checksum(variable.data, count: variable.count) == checksum,
            "\(variable.name) changed without markChanged()")
        return true
    }

    /// The transform has just been made from `variable`'s values.
    mutating func record(_ variable: Variable) {
        version = variable.version
        // taken, like the check in `areCurrent`, in debug builds only (an assertion's condition)
        assert(
            {
                checksum = DenseNetEngine.checksum(variable.data, count: variable.count)
                return true
            }())
    }
}
