#include "hk-json.h"

char *
hk_json_to_text(JsonBuilder *b)
{
  JsonGenerator *g = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  char *text;

  json_generator_set_root(g, root);
  text = json_generator_to_data(g, NULL);
  if (root)
    json_node_unref(root);
  g_object_unref(g);
  return text;
}
