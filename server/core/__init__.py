"""Values every layer shares and that depend on no layer: errors, names, selectors, pages, quantities, the
request context, list queries and the registry of kinds. Nothing here imports the api, domain or repository
packages, or any database or transport library."""
