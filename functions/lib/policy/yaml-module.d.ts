// Policy files are compiled into the bundles as JSON by build/yaml-plugin.ts.
declare module '*.yaml' {
  const document: unknown
  export default document
}
