import ArgumentParser
import DenseNetEngine

extension EngineConfiguration {
    /// The engine configuration the documented A/B switches ask for (docs/performance.md):
    /// DENSENET_IO_SIMD=portable|avx2, DENSENET_IO_CONV=blas, DENSENET_IO_DIRECT_MAX_COUT=n and
    /// DENSENET_IO_WINOGRAD=0; unset or other values keep the default. `train` and `bench` read them.
    init(environment: [String: String]) {
        self.init(
            kernels: environment["DENSENET_IO_SIMD"].flatMap(Kernels.init(rawValue:)) ?? .automatic,
            convolutions: environment["DENSENET_IO_CONV"] == "blas" ? .blas : .automatic,
            directMaxOutputChannels: environment["DENSENET_IO_DIRECT_MAX_COUT"].flatMap { Int($0) },
            winograd: environment["DENSENET_IO_WINOGRAD"] != "0")
    }
}

extension EngineConfiguration.Summation: ExpressibleByArgument {
    /// The help of `train`'s and `bench`'s `--sums`.
    static let help = ArgumentHelp(
        "How batch normalization's statistics and bias gradients are summed over a batch: tensorflow (float32 in tf-keras' order, its bits; the default for one process) or float64 (rounded once, the same on any number of ranks; the default under mpirun or --distributed).",
        valueName: "tensorflow|float64")

    /// `--sums`' value, or the default: float64 for a distributed run, whose world size must not
    /// change its results; TensorFlow's order otherwise.
    static func chosen(_ option: Self?, distributed: Bool) -> Self { option ?? (distributed ? .float64 : .tensorFlow) }
}
