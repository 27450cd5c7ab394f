// The bundled price table's JSON text (src/cost/data/model_prices.json, embedded at build time).

#ifndef LLMKIT_SRC_COST_PRICE_DATA_H_
#define LLMKIT_SRC_COST_PRICE_DATA_H_

#include <string_view>

namespace llmkit::internal {

std::string_view BundledPriceTable();

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COST_PRICE_DATA_H_
