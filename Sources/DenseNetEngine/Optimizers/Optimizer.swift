// The optimizers of Keras (SGD, RMSprop, Adam, AdamW) behind one class, with state as plain values.

/// Which optimizer, with its hyperparameters (Keras' defaults).
public enum OptimizerConfig: Equatable, Sendable {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum.
    case sgd(SGDConfig)
    /// RMSprop, optionally centered and with momentum.
    case rmsprop(RMSpropConfig)
    /// Adam (Kingma & Ba, 2015), the tutorial's optimizer.
    case adam(AdamConfig)
    /// Adam with decoupled weight decay (Loshchilov & Hutter, 2019).
    case adamW(AdamWConfig)

    /// The Keras 3 class name (`SGD`, `RMSprop`, `Adam`, `AdamW`; tf-keras' too).
    public var kerasClassName: String {
        switch self {
        case .sgd: "SGD"
        case .rmsprop: "RMSprop"
        case .adam: "Adam"
        case .adamW: "AdamW"
        }
    }

    /// The configured learning rate, whichever optimizer.
    public var learningRate: Double {
        switch self {
        case let .sgd(c): c.learningRate
        case let .rmsprop(c): c.learningRate
        case let .adam(c): c.learningRate
        case let .adamW(c): c.adam.learningRate
        }
    }

    /// The slot kinds this configuration keeps, under Keras 3's names, in `OptimizerState.slots` order.
    public var slotNames: [String] {
        switch self {
        case let .sgd(c): c.slotNames
        case let .rmsprop(c): c.slotNames
        case .adam, .adamW: AdamConfig.slotNames
        }
    }

    /// How Keras lists the slots in `optimizer.variables` (after `iterations`, and in Keras 3 the
    /// learning rate): Adam and AdamW interleave them per variable, SGD and RMSprop group them per slot.
    /// tf-keras 2.21 and Keras 3.15 agree.
    public var kerasSlotOrder: SlotOrder {
        switch self {
        case .adam, .adamW: .perVariable
        case .sgd, .rmsprop: .perSlot
        }
    }

    /// The update rule, its per-step constants fixed for the step after `iterations` steps.
    func rule(iterations: Int64) -> UpdateRule {
        switch self {
        case let .sgd(c): c.rule()
        case let .rmsprop(c): c.rule()
        case let .adam(c): c.rule(iterations: iterations, weightDecay: nil)
        case let .adamW(c): c.adam.rule(iterations: iterations, weightDecay: c.weightDecay)
        }
    }
}

/// The order of slot variables in Keras' `optimizer.variables`.
public enum SlotOrder: Sendable {
    /// All slots of variable 0, then of variable 1, … (Adam: m0, v0, m1, v1, …).
    case perVariable
    /// Slot 0 of every variable, then slot 1 of every variable, … (RMSprop: velocities, momentums, …).
    case perSlot

    /// (slot, variable) pairs in Keras' order.
    public func pairs(slots: Int, variables: Int) -> [(slot: Int, variable: Int)] {
        switch self {
        case .perVariable: (0..<variables).flatMap { v in (0..<slots).map { (slot: $0, variable: v) } }
        case .perSlot: (0..<slots).flatMap { s in (0..<variables).map { (slot: s, variable: $0) } }
        }
    }
}

/// One kind of slot: its Keras 3 name and one array per trainable variable.
public struct OptimizerSlot: Equatable, Sendable {
    /// The slot's Keras 3 name, e.g. `momentum` or `velocity`.
    public var name: String
    /// One array per trainable variable, in the order of `Optimizer.variables`, each the variable's size.
    public var values: [[Float]]
    /// A slot kind called `name` holding `values`.
    public init(name: String, values: [[Float]]) {
        self.name = name
        self.values = values
    }
}

/// Optimizer state as plain values: the step count and the slots, in `OptimizerConfig.slotNames` order.
public struct OptimizerState: Equatable, Sendable {
    /// Steps taken so far (Keras' `optimizer.iterations`); Adam's bias correction depends on it.
    public var iterations: Int64
    /// The slot kinds in `OptimizerConfig.slotNames` order.
    public var slots: [OptimizerSlot]
    /// A state of `iterations` steps with `slots`.
    public init(iterations: Int64, slots: [OptimizerSlot]) {
        self.iterations = iterations
        self.slots = slots
    }

    /// The arrays of the slot called `name` (nil when this optimizer keeps no such slot).
    public subscript(name: String) -> [[Float]]? { slots.first { $0.name == name }?.values }
}

/// One optimizer over a fixed list of variables, updating them from their `grad`.
public final class Optimizer {
    /// The optimizer and its hyperparameters; `reconfigure(_:)` may change the latter.
    public private(set) var config: OptimizerConfig
    /// Steps taken, as Keras' `optimizer.iterations`.
    public private(set) var iterations: Int64 = 0
    /// The variables updated, in the order of their slots (the model's trainable variables).
    public let variables: [Variable]
    /// slots[kind][variable], zero-initialised like Keras' slot variables.
    let slots: [[UnsafeMutablePointer<Float>]]
    let parallel: Parallel

    /// An optimizer at step 0 with zeroed slots, as Keras creates its slot variables, updating `variables` on
    /// `parallel`'s workers.
    public init(variables: [Variable], config: OptimizerConfig, parallel: Parallel = .automatic()) {
        self.variables = variables
        self.config = config
        self.parallel = parallel
        slots = config.slotNames.map { _ in
            variables.map { v in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, v.count))
                p.initialize(repeating: 0, count: Swift.max(1, v.count))
                return p
            }
        }
    }

    deinit { for kind in slots { for p in kind { p.deallocate() } } }

    /// Changes hyperparameters; the new configuration must keep the same slots.
    public func reconfigure(_ newConfig: OptimizerConfig) throws {
        guard newConfig.kerasClassName == config.kerasClassName, newConfig.slotNames == config.slotNames else {
            throw EngineError.invalidArgument(
                "cannot reconfigure \(config.kerasClassName) with slots \(config.slotNames) "
                    + "as \(newConfig.kerasClassName) with slots \(newConfig.slotNames)")
        }
        config = newConfig
    }

    /// Applies one update to every variable from its `grad`, then counts the step.
    public func step() {
        let rule = config.rule(iterations: iterations)
        let weights = variables.map(\.data), gradients = variables.map { UnsafePointer($0.grad) }
        let slotsByVariable = variables.indices.map { i in slots.map { $0[i] } }
        parallel.forEachRange(ofArrays: variables.map(\.count), minChunk: 32768) { i, range in
            rule(weights[i], gradients[i], slotsByVariable[i], range)
        }
        for variable in variables { variable.markChanged() }
        iterations += 1
    }

    /// The step count and a copy of every slot, to checkpoint; `setState(_:)` restores it.
    public var state: OptimizerState {
        OptimizerState(
            iterations: iterations,
            slots: zip(config.slotNames, slots).map { name, kind in
                OptimizerSlot(
                    name: name, values: variables.indices.map { Array(UnsafeBufferPointer(start: kind[$0], count: variables[$0].count)) })
            })
    }

    /// Restores a state captured by `state`; checked whole before anything changes.
    public func setState(_ s: OptimizerState) throws {
        guard s.iterations >= 0 else { throw EngineError.invalidArgument("negative iterations") }
        guard s.slots.map(\.name) == config.slotNames else {
            throw EngineError.invalidArgument(
                "\(config.kerasClassName) keeps slots \(config.slotNames), the state has \(s.slots.map(\.name))")
        }
        for slot in s.slots {
            guard slot.values.count == variables.count else {
                throw EngineError.countMismatch(
                    what: "\(config.kerasClassName) \(slot.name) slots", expected: variables.count, got: slot.values.count)
            }
            for (values, variable) in zip(slot.values, variables) where values.count != variable.count {
                throw EngineError.countMismatch(
                    what: "\(config.kerasClassName) \(slot.name) slot of \(variable.name)",
                    expected: variable.count, got: values.count)
            }
        }
        for (slot, kind) in zip(s.slots, slots) {
            for (values, pointer) in zip(slot.values, kind) {
                values.withUnsafeBufferPointer { if let base = $0.baseAddress { pointer.update(from: base, count: $0.count) } }
            }
        }
        iterations = s.iterations
    }
}

/// One step of an update rule on elements `range` of one variable: its weights, its gradient and its
/// slots (in `slotNames` order). Float32 throughout, each operation rounded as TensorFlow rounds it.
typealias UpdateRule = (
    _ weights: UnsafeMutablePointer<Float>, _ gradient: UnsafePointer<Float>,
    _ slots: [UnsafeMutablePointer<Float>], _ range: Range<Int>
) -> Void
