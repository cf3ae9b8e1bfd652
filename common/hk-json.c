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

void
hk_json_member_str(JsonBuilder *b, const char *name, const char *v)
{
  json_builder_set_member_name(b, name);
  if (v)
    json_builder_add_string_value(b, v);
  else
    json_builder_add_null_value(b);
}
