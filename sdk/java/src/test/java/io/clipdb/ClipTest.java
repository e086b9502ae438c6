package io.clipdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import io.clipdb.v1.CollectionInfo;
import io.clipdb.v1.Vectorizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Text and images with the bundled demo CLIP model (the server embeds them). */
class ClipTest {
  /** One demo image: its id, file, last caption and the colour of its first shape. */
  private static final class Item {
    final String id;
    final Path path;
    String caption;
    final String colour;

    Item(String id, Path path, String colour) {
      this.id = id;
      this.path = path;
      this.colour = colour;
    }
  }

  @SuppressWarnings("unchecked")
  private static List<Item> load(Path dir) throws IOException {
    Struct.Builder json = Struct.newBuilder();
    JsonFormat.parser().merge(
        new String(Files.readAllBytes(dir.resolve("captions.json")), StandardCharsets.UTF_8),
        json);
    Map<String, Object> coco = Values.toMap(json.build());
    Map<String, Item> items = new LinkedHashMap<>();
    for (Object o : (List<Object>) coco.get("images")) {
      Map<String, Object> im = (Map<String, Object>) o;
      Map<String, Object> scene = (Map<String, Object>) im.get("scene");
      Map<String, Object> first = ((List<Map<String, Object>>) scene.get("objects")).get(0);
      String id = String.valueOf(im.get("id"));
      items.put(id, new Item(id, dir.resolve("images").resolve((String) im.get("file_name")),
          (String) first.get("colour")));
    }
    for (Object o : (List<Object>) coco.get("annotations")) {
      Map<String, Object> a = (Map<String, Object>) o;
      items.get(String.valueOf(a.get("image_id"))).caption = (String) a.get("caption");
    }
    return new ArrayList<>(items.values());
  }

  @Test
  void imagesAndTexts() throws IOException {
    List<Item> items = load(ClipdbServer.demoData());
    assertEquals(20, items.size());
    String name = ClipdbServer.name();
    try (ClipdbClient db = ClipdbClient.builder().address(ClipdbServer.demo())
        .timeout(Duration.ofSeconds(60)).build()) {
      CollectionInfo info = db.createCollection(name);   // CLIP: the model's dimension
      assertEquals(Vectorizer.VECTORIZER_CLIP, info.getVectorizer());
      assertTrue(info.getDimension() > 0);

      List<Point> points = new ArrayList<>();
      for (int i = 0; i < items.size(); i++) {
        Item it = items.get(i);
        Point p = Point.of(it.id).text(it.caption)
            .payload(Map.of("colour", it.colour, "file", it.path.getFileName().toString()));
        // images as a file and as bytes
        points.add(i % 2 == 0 ? p.image(it.path) : p.image(Files.readAllBytes(it.path)));
      }
      assertEquals(20, db.upsert(name, points, 6));
      assertEquals(20, db.count(name));
      assertFalse(db.getCollection(name).getModel().isEmpty());

      Item first = items.get(0);
      // captions only: the point whose caption this is scores ~1
      List<Hit> hits = db.search(name, Search.byText(first.caption).fusion(0, 1).limit(3));
      assertEquals(first.id, hits.get(0).id());
      assertTrue(hits.get(0).score() > 0.99, hits.toString());
      // images only, querying by the image itself
      hits = db.search(name, Search.byImage(first.path).fusion(1, 0).limit(1));
      assertEquals(first.id, hits.get(0).id());
      assertTrue(hits.get(0).score() > 0.99, hits.toString());
      // fused, with a filter
      hits = db.search(name, Search.byText("a " + first.colour + " shape")
          .filter(Filter.must(Field.of("colour").eq(first.colour))));
      assertFalse(hits.isEmpty());
      for (Hit h : hits) {
        assertEquals(first.colour, h.payload().get("colour"));
      }

      float[] v = db.embedText("a red circle");
      assertEquals(info.getDimension(), v.length);
      double norm = 0;
      for (float x : v) {
        norm += x * x;
      }
      assertEquals(1.0, Math.sqrt(norm), 1e-3);
      List<float[]> two = db.embedTexts(List.of("a red circle", "a blue square"));
      assertEquals(2, two.size());
      float[] image = db.embedImage(first.path);
      assertEquals(info.getDimension(), image.length);
      assertEquals(first.id, db.search(name, Search.byVector(image).fusion(1, 0).limit(1))
          .get(0).id());

      InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
          () -> db.upsert(name, List.of(Point.of("bad").image("not an image".getBytes(
              StandardCharsets.UTF_8)))));
      assertTrue(e.getMessage().contains("bad"), e.getMessage());
    }
  }
}
