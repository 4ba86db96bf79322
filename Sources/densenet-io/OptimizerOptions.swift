import ArgumentParser
import DenseNetEngine
import KerasFormat

/// `--optimizer NAME|FILE [--learning-rate X] [--momentum X] …`: Keras' optimizers and their
/// hyperparameters, shared by `train` (a new run) and `import` (naming what a file does not say).
struct OptimizerOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The optimizer, with Keras' defaults: \(OptimizerChoice.allCases.map(\.rawValue).joined(separator: ", ")) "
                + "(default: adam, or what the file or checkpoint records). import also takes a tf-keras optimizer .h5 here.",
            valueName: "name|file"))
    var optimizer: OptimizerArgument?

    @Option(help: "The learning rate (Keras' default: 0.01 for sgd, 0.001 for the others).")
    var learningRate: Double?

    @Option(help: "sgd, rmsprop: momentum (Keras' default 0).")
    var momentum: Double?

    @Flag(help: "sgd: Nesterov momentum.")
    var nesterov = false

    @Option(help: "rmsprop: the discounting factor rho (Keras' default 0.9).")
    var rho: Double?

    @Flag(help: "rmsprop: centered (normalised by the gradient's variance).")
    var centered = false

    @Option(name: .customLong("beta-1"), help: "adam, adamw: beta_1 (Keras' default 0.9).")
    var beta1: Double?

    @Option(name: .customLong("beta-2"), help: "adam, adamw: beta_2 (Keras' default 0.999).")
    var beta2: Double?

    @Option(help: "rmsprop, adam, adamw: epsilon (Keras' default 1e-7).")
    var epsilon: Double?

    @Option(help: "adamw: the weight decay (Keras' default 0.004).")
    var weightDecay: Double?

    func validate() throws {
        for (name, value) in [
            ("--learning-rate", learningRate), ("--rho", rho), ("--epsilon", epsilon), ("--beta-1", beta1), ("--beta-2", beta2)
        ] {
            if let value, !(value > 0) { throw ValidationError("\(name) must be positive, got \(value)") }
        }
        for (name, value) in [("--momentum", momentum), ("--weight-decay", weightDecay)] {
            if let value, !(value >= 0) { throw ValidationError("\(name) must be at least 0, got \(value)") }
        }
        if case let .named(choice) = optimizer { _ = try applied(to: choice.defaults) }
    }

    /// Whether any hyperparameter was given.
    var setsHyperparameters: Bool {
        [learningRate, momentum, rho, beta1, beta2, epsilon, weightDecay].contains { $0 != nil } || nesterov || centered
    }

    /// The named optimizer (else `fallback`, else Adam) with the given hyperparameters.
    func config(fallback: OptimizerConfig? = nil) throws -> OptimizerConfig {
        if case let .named(choice) = optimizer { return try applied(to: choice.defaults) }
        return try applied(to: fallback ?? .adam(AdamConfig()))
    }

    /// `base` with the hyperparameters given on the command line; refuses those `base`'s class lacks.
    func applied(to base: OptimizerConfig) throws -> OptimizerConfig {
        func take<T>(_ value: T?, into target: inout T) { if let value { target = value } }
        var config = base
        switch config {
        case var .sgd(c):
            take(momentum, into: &c.momentum)
            take(nesterov ? true : nil, into: &c.nesterov)
            config = .sgd(c)
        case var .rmsprop(c):
            take(momentum, into: &c.momentum)
            take(rho, into: &c.rho)
            take(epsilon, into: &c.epsilon)
            take(centered ? true : nil, into: &c.centered)
            config = .rmsprop(c)
        case var .adam(c):
            take(beta1, into: &c.beta1)
            take(beta2, into: &c.beta2)
            take(epsilon, into: &c.epsilon)
            config = .adam(c)
        case var .adamW(c):
            take(beta1, into: &c.adam.beta1)
            take(beta2, into: &c.adam.beta2)
            take(epsilon, into: &c.adam.epsilon)
            take(weightDecay, into: &c.weightDecay)
            config = .adamW(c)
        }
        let applicable: [String: [String]] = [
            "SGD": ["--momentum", "--nesterov"], "RMSprop": ["--momentum", "--rho", "--epsilon", "--centered"],
            "Adam": ["--beta-1", "--beta-2", "--epsilon"], "AdamW": ["--beta-1", "--beta-2", "--epsilon", "--weight-decay"]
        ]
        let given: [(String, Bool)] = [
            ("--momentum", momentum != nil), ("--nesterov", nesterov), ("--rho", rho != nil), ("--centered", centered),
            ("--beta-1", beta1 != nil), ("--beta-2", beta2 != nil), ("--epsilon", epsilon != nil), ("--weight-decay", weightDecay != nil)
        ]
        let unused = given.filter { $0.1 && !(applicable[config.kerasClassName] ?? []).contains($0.0) }.map(\.0)
        guard unused.isEmpty else {
            throw ValidationError(
                "\(unused.joined(separator: ", ")) do\(unused.count == 1 ? "es" : "") not apply to \(config.kerasClassName)")
        }
        return learningRate.map { config.with(learningRate: $0) } ?? config
    }
}

/// `--optimizer`: Keras' optimizers by name (any case).
enum OptimizerChoice: String, CaseIterable {
    case adam, adamw, sgd, rmsprop

    /// Keras' defaults of the class.
    var defaults: OptimizerConfig {
        switch self {
        case .adam: .adam(AdamConfig())
        case .adamw: .adamW(AdamWConfig())
        case .sgd: .sgd(SGDConfig())
        case .rmsprop: .rmsprop(RMSpropConfig())
        }
    }
}

/// `--optimizer`'s value: an optimizer's name, or (for `import`) a file holding optimizer state.
enum OptimizerArgument: ExpressibleByArgument, Equatable {
    case named(OptimizerChoice)
    case file(String)

    init?(argument: String) {
        if let choice = OptimizerChoice(rawValue: argument.lowercased()) {
            self = .named(choice)
        } else if argument.contains(".") || argument.contains("/") {
            self = .file(argument)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { OptimizerChoice.allCases.map(\.rawValue) }

    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}
