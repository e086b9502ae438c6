// @connectrpc/connect's declarations name HeadersInit, a DOM type that
// @types/node does not declare globally; declaring it here lets this package
// compile for Node without the DOM lib or skipLibCheck. (Not emitted: the
// package's own declarations do not reference Connect's types.)
type HeadersInit = ConstructorParameters<typeof Headers>[0];
