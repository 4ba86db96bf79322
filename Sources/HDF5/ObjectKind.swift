/// What a link in a group points to.
public enum ObjectKind: Sendable, Equatable {
    /// A group (h5py's `Group`) or a dataset (h5py's `Dataset`).
    case group, dataset
    /// A named datatype or anything else that is neither group nor dataset.
    case other
}
