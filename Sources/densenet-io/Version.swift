extension DenseNetIO {
    /// The toolkit's version, as `densenet-io --version` prints it; the one place it is written.
    static let version = "0.1.0"
}
