// The generated price rules of the rules-at-scale bench, shared by its wrangler dev run (bench/rules-scale.ts) and
// its workerd compile run (bench/workerd/compile.bench-run.ts), which must import nothing from Node.

/**
 * N priced rules, as an operator's generator might write them; `edit` changes rule 0's price and description, and
 * `document` every other rule's description (a whole new document: no rule compiled before).
 */
export function generatedRules(size: number, edit: number, network: string, payTo: string, document = 0) {
  return Array.from({ length: size }, (_, i) => ({
    id: `scale-${i}`,
    methods: ["GET"],
    path: `/api/scale/${i}/:item`,
    price: i === 0 ? `$0.0${edit + 1}` : "$0.01",
    accepts: [{ network }],
    payTo,
    description:
      i === 0
        ? `Generated resource 0 (edit ${edit})`
        : document === 0
          ? `Generated resource ${i}`
          : `Generated resource ${i} (document ${document})`,
    mimeType: "application/json",
  }));
}
